using System.Text.Json.Nodes;
using Gantry.Clustering.Compatibility;

namespace Gantry.Tests.Clustering;

/// <summary>Kong's compatibility rules between a control plane and a data plane, and the field stripping table, case by case.</summary>
public sealed class CompatibilityTests
{
    private static readonly ReleaseVersion ControlPlane = new(0, 3, 2);

    [Theory]
    [InlineData("0.3.2", null)]
    [InlineData("0.3.0", null)]
    [InlineData("0.3.9", null)]
    [InlineData("0.2.0", null)]
    [InlineData("0.0.1", null)]
    [InlineData("0.3.2-dev", null)]
    [InlineData("0.4.0", "newer than control plane release 0.3.2")]
    [InlineData("1.3.2", "differ in their major release")]
    [InlineData("0.3", "not a release number")]
    [InlineData("", "not a release number")]
    [InlineData(null, "not a release number")]
    public void Release_check_accepts_the_same_major_and_no_newer_minor(string? dataPlane, string? refusal)
    {
        var verdict = ReleaseCompatibility.Check(ControlPlane, dataPlane);
        if (refusal is null)
        {
            Assert.Same(CompatibilityVerdict.Compatible, verdict);
            return;
        }
        Assert.Equal(SyncStatus.KongVersionIncompatible, verdict.Status);
        Assert.Contains(refusal, verdict.Message);
        // The message names both releases, so either side's log says what to upgrade.
        Assert.Contains("0.3.2", verdict.Message);
        if (ReleaseVersion.TryParse(dataPlane, out var parsed))
            Assert.Contains(parsed.ToString(), verdict.Message);
    }

    private static readonly Dictionary<string, string> ControlPlanePlugins = new()
    {
        ["key-auth"] = "0.3.2",
        ["rate-limiting"] = "0.3.2",
        ["cors"] = "0.3.2",
        ["custom"] = "custom-build",
    };

    public static TheoryData<string, string[], string, SyncStatus, string?, string?> PluginCases => new()
    {
        // name, used plugins, data plane's plugins ("name@version,…"), status, message part, warning part
        { "everything used is there", ["key-auth"], "key-auth@0.3.2,rate-limiting@0.3.2,cors@0.3.2,custom@1.0.0", SyncStatus.Normal, null, null },
        { "older minor and other patch are fed", ["key-auth", "cors"], "key-auth@0.2.0,rate-limiting@0.3.0,cors@0.3.7,custom@1.0.0", SyncStatus.Normal, null, null },
        { "used plugin missing", ["rate-limiting", "key-auth"], "key-auth@0.3.2,cors@0.3.2,custom@1.0.0", SyncStatus.PluginSetIncompatible, "rate-limiting, missing from the data plane", null },
        { "several missing are all named", ["rate-limiting", "cors"], "key-auth@0.3.2,custom@1.0.0", SyncStatus.PluginSetIncompatible, "plugins cors, rate-limiting", null },
        { "used plugin newer minor", ["key-auth"], "key-auth@0.4.0,rate-limiting@0.3.2,cors@0.3.2,custom@1.0.0", SyncStatus.PluginVersionIncompatible, "key-auth is version 0.4.0 on the data plane, newer than 0.3.2", null },
        { "used plugin other major", ["cors"], "key-auth@0.3.2,rate-limiting@0.3.2,cors@1.3.2,custom@1.0.0", SyncStatus.PluginVersionIncompatible, "another major version", null },
        { "used plugin unreadable version", ["cors"], "key-auth@0.3.2,rate-limiting@0.3.2,cors@latest,custom@1.0.0", SyncStatus.PluginVersionIncompatible, "'latest'", null },
        { "missing beats version", ["cors", "key-auth"], "key-auth@0.4.0,rate-limiting@0.3.2,custom@1.0.0", SyncStatus.PluginSetIncompatible, "plugin cors,", null },
        { "unused plugin missing only warns", ["key-auth"], "key-auth@0.3.2,cors@0.3.2,custom@1.0.0", SyncStatus.Normal, null, "plugin rate-limiting is enabled on the control plane but missing" },
        { "unused plugin of another major only warns", ["key-auth"], "key-auth@0.3.2,rate-limiting@1.0.0,cors@0.3.2,custom@1.0.0", SyncStatus.Normal, null, "rate-limiting is version 1.0.0" },
        { "custom plugin without a comparable version counts by presence", ["custom"], "key-auth@0.3.2,rate-limiting@0.3.2,cors@0.3.2,custom@9.9.9", SyncStatus.Normal, null, null },
        { "nothing used, nothing held back", [], "", SyncStatus.Normal, null, "missing from the data plane" },
    };

    [Theory]
    [MemberData(nameof(PluginCases))]
    public void Plugin_check_holds_back_only_for_plugins_the_configuration_uses(string name, string[] used, string dataPlane, SyncStatus status, string? message, string? warning)
    {
        var plugins = dataPlane.Split(',', StringSplitOptions.RemoveEmptyEntries)
            .Select(p => p.Split('@')).Select(p => new DataPlanePlugin(p[0], p[1])).ToList();
        // A name used by several plugin entities comes once per entity.
        var verdict = PluginCompatibility.Check([.. used, .. used], ControlPlanePlugins, plugins);
        Assert.True(status == verdict.Status, $"{name}: {verdict.Status} {verdict.Message}");
        if (message is null)
            Assert.Null(verdict.Message);
        else
            Assert.Contains(message, verdict.Message);
        if (warning is null)
            Assert.Empty(verdict.Warnings);
        else
            Assert.Contains(verdict.Warnings, w => w.Contains(warning, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("unknown", SyncStatus.Unknown, true)]
    [InlineData("normal", SyncStatus.Normal, true)]
    [InlineData("kong_version_incompatible", SyncStatus.KongVersionIncompatible, false)]
    [InlineData("plugin_set_incompatible", SyncStatus.PluginSetIncompatible, false)]
    [InlineData("plugin_version_incompatible", SyncStatus.PluginVersionIncompatible, false)]
    public void Sync_statuses_have_kongs_wire_names(string wire, SyncStatus status, bool compatible)
    {
        Assert.Equal(wire, status.Wire());
        Assert.Equal(status, SyncStatuses.Parse(wire));
        Assert.Equal(compatible, status.IsCompatible());
    }

    [Fact]
    public void A_status_of_a_newer_release_reads_as_unknown() =>
        Assert.Equal(SyncStatus.Unknown, SyncStatuses.Parse("filter_set_incompatible"));

    private static readonly FieldStripper Stripper = new([
        FieldIntroduction.OfEntity("0.3.0", "services", "tls_sans"),
        FieldIntroduction.OfEntity("0.4.0", "services", "retry_policy.budget"),
        FieldIntroduction.OfEntity("0.4.0", "routes", "headers_match"),
        FieldIntroduction.OfPlugin("0.3.0", "rate-limiting", "config.sync_rate"),
        FieldIntroduction.OfPlugin("0.4.0", "acme", "config.domains.wildcard"),
    ]);

    public static TheoryData<string, string, string, string, string, string[]> StripCases => new()
    {
        // name, entity type, entity (wire form), data plane release, expected entity, removed rows
        { "a release that knows the field keeps it", "services", """{"host":"a","tls_sans":["x"]}""", "0.3.0", """{"host":"a","tls_sans":["x"]}""", [] },
        { "an older release loses it", "services", """{"host":"a","tls_sans":["x"]}""", "0.2.5", """{"host":"a"}""", ["services.tls_sans (0.3.0)"] },
        { "a newer patch of the introducing minor keeps it", "services", """{"tls_sans":[]}""", "0.3.4", """{"tls_sans":[]}""", [] },
        { "an absent field removes nothing", "services", """{"host":"a"}""", "0.1.0", """{"host":"a"}""", [] },
        { "a nested field goes, its parent stays", "services", """{"retry_policy":{"budget":3,"tries":2},"tls_sans":[]}""", "0.3.0",
            """{"retry_policy":{"tries":2},"tls_sans":[]}""", ["services.retry_policy.budget (0.4.0)"] },
        { "rows of several releases at once", "services", """{"retry_policy":{"budget":3},"tls_sans":[]}""", "0.2.0",
            """{"retry_policy":{}}""", ["services.tls_sans (0.3.0)", "services.retry_policy.budget (0.4.0)"] },
        { "a null field present is removed too", "routes", """{"headers_match":null,"paths":["/"]}""", "0.3.0", """{"paths":["/"]}""", ["routes.headers_match (0.4.0)"] },
        { "another entity type is untouched", "consumers", """{"tls_sans":1}""", "0.1.0", """{"tls_sans":1}""", [] },
        { "a plugin's field goes from that plugin", "plugins", """{"config":{"minute":5,"sync_rate":-1},"name":"rate-limiting"}""", "0.2.0",
            """{"config":{"minute":5},"name":"rate-limiting"}""", ["plugin rate-limiting config.sync_rate (0.3.0)"] },
        { "and not from another plugin", "plugins", """{"config":{"sync_rate":-1},"name":"cors"}""", "0.2.0", """{"config":{"sync_rate":-1},"name":"cors"}""", [] },
        { "a path through an array strips each element", "plugins", """{"config":{"domains":[{"name":"a","wildcard":true},{"name":"b"}]},"name":"acme"}""", "0.3.0",
            """{"config":{"domains":[{"name":"a"},{"name":"b"}]},"name":"acme"}""", ["plugin acme config.domains.wildcard (0.4.0)"] },
        { "a path that meets a scalar stops", "services", """{"retry_policy":5}""", "0.3.0", """{"retry_policy":5}""", [] },
    };

    [Theory]
    [MemberData(nameof(StripCases))]
    public void Stripping_removes_what_the_data_planes_release_does_not_know(string name, string entityType, string entity, string release, string expected, string[] removed)
    {
        var original = JsonNode.Parse(entity)!.AsObject();
        var result = Stripper.Strip(entityType, original, ReleaseVersion.Parse(release));
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(expected), result.Entity), $"{name}: {result.Entity.ToJsonString()}");
        Assert.Equal(removed, result.Removed.Select(r => r.ToString()));
        // The control plane's own wire form is shared by every data plane: never changed, copied only when needed.
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(entity), original), name);
        Assert.Equal(removed.Length == 0, ReferenceEquals(original, result.Entity));
    }

    [Fact]
    public void Data_planes_as_new_as_the_table_skip_it()
    {
        Assert.True(Stripper.Strips(new ReleaseVersion(0, 3, 9)));
        Assert.False(Stripper.Strips(new ReleaseVersion(0, 4, 0)));
        // The built-in table starts with the release after 0.3.0 (the expressions router's route fields).
        Assert.True(FieldStripper.Default.Strips(new ReleaseVersion(0, 3, 0)));
        Assert.False(FieldStripper.Default.Strips(new ReleaseVersion(0, 4, 0)));
        Assert.Same(FieldStripper.Default, FieldStripper.For(GantryHost.Default));
    }

    [Fact]
    public void A_hosts_rows_join_the_built_in_table()
    {
        var stripper = FieldStripper.For(new GantryHost { IntroducedFields = [FieldIntroduction.OfEntity("0.4.0", "services", "played")] });
        var result = stripper.Strip("services", new JsonObject { ["host"] = "a", ["played"] = true }, new ReleaseVersion(0, 3, 0));
        Assert.Equal("""{"host":"a"}""", result.Entity.ToJsonString());
        Assert.Equal(FieldIntroductions.BuiltIn.Count + 1, stripper.Table.Count);
    }
}
