using System.Text.Json.Nodes;
using Gantry.Clustering.Compatibility;
using Gantry.Tests.Support;

namespace Gantry.Tests.Clustering;

/// <summary>
/// Every field this code adds to an entity type or to a plugin that the latest release already had must be
/// listed in <see cref="FieldIntroductions"/>: otherwise a control plane sends it to data planes of that
/// release, which refuse the configuration. The latest release's fields are kept in
/// releases/&lt;tag&gt;.fields.json (bin/release-fields); this node's are read from its /schemas the same way.
/// </summary>
[Collection(AdminApiCollection.Name)]
public sealed class FieldIntroductionGuardTests(SqliteAdminNode node) : IClassFixture<SqliteAdminNode>
{
    [Fact]
    public async Task Fields_added_since_the_latest_release_are_stripped_for_its_data_planes()
    {
        var (tag, released) = LatestRelease();
        var introduced = FieldIntroductions.BuiltIn.Select(f => (f.Plugin ?? f.EntityType, f.Path)).ToHashSet();
        var missing = new List<string>();
        foreach (var (entity, paths) in released["entities"]!.AsObject())
        {
            var (status, schema) = await node.GetAsync("/schemas/" + entity);
            Assert.True(status == 200, $"/schemas/{entity} answered {status}: an entity type of {tag} is gone");
            missing.AddRange(New(Names(paths!), Paths(schema!["fields"]!.AsArray())).Where(p => !introduced.Contains((entity, p))).Select(p => $"{entity}.{p}"));
        }
        foreach (var (plugin, paths) in released["plugins"]!.AsObject())
        {
            var (status, schema) = await node.GetAsync("/schemas/plugins/" + plugin);
            Assert.True(status == 200, $"/schemas/plugins/{plugin} answered {status}: a plugin of {tag} is gone");
            missing.AddRange(New(Names(paths!), Paths(schema!["fields"]!.AsArray())).Where(p => !introduced.Contains((plugin, p))).Select(p => $"plugin {plugin} {p}"));
        }
        Assert.True(missing.Count == 0, $"fields added since {tag} without a row in FieldIntroductions.BuiltIn: {string.Join(", ", missing)}");
    }

    private static (string Tag, JsonObject Fields) LatestRelease()
    {
        var file = Directory.GetFiles(RepositoryFiles.PathOf("releases"), "v*.fields.json")
            .OrderBy(f => Version.Parse(Path.GetFileName(f)[1..^".fields.json".Length])).Last();
        return (Path.GetFileName(file)[..^".fields.json".Length], JsonNode.Parse(File.ReadAllText(file))!.AsObject());
    }

    private static HashSet<string> Names(JsonNode paths) => paths.AsArray().Select(p => p!.GetValue<string>()).ToHashSet();

    /// <summary>The new paths whose parents the release knew: a new record is named once, not with its fields.</summary>
    private static IEnumerable<string> New(HashSet<string> released, IEnumerable<string> current) =>
        current.Where(p => !released.Contains(p) && Parents(p).All(released.Contains));

    private static IEnumerable<string> Parents(string path)
    {
        for (var dot = path.IndexOf('.'); dot > 0; dot = path.IndexOf('.', dot + 1))
            yield return path[..dot];
    }

    /// <summary>Dot-separated paths of the fields of a /schemas answer, records descended into.</summary>
    private static IEnumerable<string> Paths(JsonArray fields, string prefix = "")
    {
        foreach (var field in fields)
        {
            foreach (var (name, spec) in field!.AsObject())
            {
                yield return prefix + name;
                if (spec?["fields"] is JsonArray nested)
                {
                    foreach (var path in Paths(nested, prefix + name + "."))
                        yield return path;
                }
            }
        }
    }
}
