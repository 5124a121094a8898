using System.Text.Json.Nodes;
using Gantry.Entities;
using Gantry.Entities.Definitions;
using Gantry.Entities.Records;
using Gantry.Entities.Schema;
using Gantry.Store;

namespace Gantry.Tests.Entities;

/// <summary>The write path's validation and the typed records the snapshot reads, without a store.</summary>
public sealed class EntityWriterTests
{
    private static JsonObject Route(string json) => EntityWriter.Validate(Routes.Schema, JsonNode.Parse(json)!.AsObject(), WriteMode.Insert, null, lenient: false);

    private static EntityException Refused(string json) => Assert.Throws<EntityException>(() => Route(json));

    [Fact]
    public void A_route_regex_the_router_cannot_run_is_refused_naming_the_element()
    {
        var error = Refused("""{"paths": ["/fine", "~/a++b"]}""");
        Assert.Equal(400, error.Status);
        Assert.StartsWith("invalid regex: '/a++b'", error.Fields!["paths"]![1]!.GetValue<string>());
        var header = Refused("""{"headers": {"x-kind": ["plain", "~*(?P<n>a)"]}}""");
        Assert.Contains("invalid regex", header.Fields!.ToJsonString());
    }

    [Theory]
    [InlineData("""{"paths": ["/a"], "tags": [null]}""", "tags", "1", "expected a string")]
    [InlineData("""{"paths": ["/a", null]}""", "paths", "2", "expected a string")]
    [InlineData("""{"paths": ["/a"], "headers": {"x-kind": null}}""", "headers", "", "expected an array")]
    public void A_null_element_of_a_list_or_map_is_a_type_error_not_a_missing_value(string json, string field, string element, string message)
    {
        var error = Refused(json);
        Assert.Equal(400, error.Status);
        // A list's element errors are a list (Kong's shape); a map's first bad value is the map's own error.
        var errors = error.Fields![field]!;
        var at = element.Length == 0 ? errors : int.TryParse(element, out var position) ? errors[position - 1] : errors[element];
        Assert.Equal(message, at!.GetValue<string>());
    }

    [Fact]
    public void Look_around_and_backreferences_are_written()
    {
        var route = Route("""{"paths": ["~/a(?=b)", "~/(x)\\1"], "headers": {"x-kind": ["~*^(?!internal)"]}}""");
        Assert.Equal(2, route["paths"]!.AsArray().Count);
    }

    [Fact]
    public void Defaults_and_timestamps_are_the_servers()
    {
        var route = Route("""{"paths": ["/a"], "created_at": 1, "updated_at": 2}""");
        Assert.True(route["strip_path"]!.GetValue<bool>());
        Assert.Equal(0, route["regex_priority"]!.GetValue<long>());
        Assert.Equal(["http", "https"], route["protocols"]!.AsArray().Select(p => p!.GetValue<string>()));
        Assert.True(route["created_at"]!.GetValue<long>() > 1_700_000_000);
        Assert.Equal(route["created_at"]!.GetValue<long>(), route["updated_at"]!.GetValue<long>());
    }

    [Fact]
    public void A_stored_row_reads_with_the_schemas_defaults_for_what_it_lacks()
    {
        // A row as an older release (or a hand-written INSERT) may leave it: only the required fields.
        var row = JsonNode.Parse("""{"id": "6f9619ff-8b86-d011-b42d-00c04fc964ff", "paths": ["/a"], "created_at": 5}""")!.AsObject();
        var record = EntityRecords.Read<RouteRecord>(Routes.Schema, row);
        Assert.True(record.StripPath);
        Assert.Equal("v0", record.PathHandling);
        Assert.Equal(426, record.HttpsRedirectStatusCode);
        Assert.Equal(["http", "https"], record.Protocols);

        var upstream = EntityRecords.Read<UpstreamRecord>(Upstreams.Schema, JsonNode.Parse("""{"id": "6f9619ff-8b86-d011-b42d-00c04fc964ff", "name": "pool"}""")!.AsObject());
        Assert.Equal(10000, upstream.Slots);
        Assert.Equal(10, upstream.Healthchecks.Active.Concurrency);
        Assert.Contains(200, upstream.Healthchecks.Active.Healthy.HttpStatuses);
    }

    [Fact]
    public void A_stored_row_that_does_not_fit_is_an_invalid_entity_naming_its_id()
    {
        var wrongType = JsonNode.Parse("""{"id": "6f9619ff-8b86-d011-b42d-00c04fc964ff", "host": "h", "port": "not a port"}""")!.AsObject();
        var error = Assert.Throws<InvalidEntityException>(() => EntityRecords.Read<ServiceRecord>(Services.Schema, wrongType));
        Assert.Equal("services", error.Entity);
        Assert.Equal("6f9619ff-8b86-d011-b42d-00c04fc964ff", error.Id);
        var missing = JsonNode.Parse("""{"id": "6f9619ff-8b86-d011-b42d-00c04fc964ff", "port": 80}""")!.AsObject();
        Assert.Throws<InvalidEntityException>(() => EntityRecords.Read<ServiceRecord>(Services.Schema, missing));
    }
}
