using Gantry.Entities.Schema;
using Gantry.Plugins.RequestTransformer;
using static Gantry.Plugins.PluginFields;

namespace Gantry.Plugins.ResponseTransformer;

/// <summary>
/// response-transformer: removes, renames, replaces, adds and appends response headers and the top-level
/// keys of a JSON response body.
/// </summary>
public static class ResponseTransformerPlugin
{
    private static readonly string[] Parts = ["json", "headers"];

    private static Field JsonTypes() => Strings("json_types", [], oneOf: ["boolean", "number", "string"]);

    public static IReadOnlyList<Field> Config { get; } =
    [
        TransformFields.Names("remove", Parts),
        TransformFields.Pairs("rename", Parts, renamesHeaders: true),
        TransformFields.Pairs("replace", Parts, extra: JsonTypes()),
        TransformFields.Pairs("add", Parts, extra: JsonTypes()),
        TransformFields.Pairs("append", Parts, extra: JsonTypes()),
    ];

    public static PluginDescriptor Descriptor { get; } = new("response-transformer", Bundled: true, Migrations: null)
    {
        Priority = 800,
        Config = Config,
        Handler = (config, _) => new ResponseTransformerHandler(config),
    };
}
