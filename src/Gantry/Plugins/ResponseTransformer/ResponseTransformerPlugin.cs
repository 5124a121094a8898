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
    private static Field JsonTypes() => Strings("json_types", [], oneOf: ["boolean", "number", "string"]);

    // Kong takes any name to remove, and checks header names only when renaming.
    private static Field[] ToSet() => [TransformFields.Pairs("json"), JsonTypes(), TransformFields.Pairs("headers")];

    public static IReadOnlyList<Field> Config { get; } =
    [
        TransformFields.Operation("remove", TransformFields.Names("json"), TransformFields.Names("headers")),
        TransformFields.Operation("rename", TransformFields.Pairs("json"), TransformFields.Pairs("headers", TransformFields.HeaderRenameError)),
        TransformFields.Operation("replace", ToSet()),
        TransformFields.Operation("add", ToSet()),
        TransformFields.Operation("append", ToSet()),
    ];

    public static PluginDescriptor Descriptor { get; } = new("response-transformer", Bundled: true, Migrations: null)
    {
        Priority = 800,
        Config = Config,
        Handler = (config, _) => new ResponseTransformerHandler(config),
    };
}
