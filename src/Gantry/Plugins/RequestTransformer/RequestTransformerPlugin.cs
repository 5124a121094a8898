using System.Text.RegularExpressions;
using Gantry.Entities.Schema;
using static Gantry.Plugins.PluginFields;

namespace Gantry.Plugins.RequestTransformer;

/// <summary>
/// request-transformer: removes, renames, replaces, adds and appends headers, query arguments and form or
/// JSON body fields before the request is forwarded; can also change the method and the upstream path.
/// </summary>
public static class RequestTransformerPlugin
{
    // Kong checks header names on every operation, and that body fields and query arguments to set have a value.
    private static Field[] ToSet(bool renames) =>
    [
        TransformFields.Names("body", TransformFields.KeyHasValueError),
        TransformFields.Pairs("headers", renames ? TransformFields.HeaderRenameError : TransformFields.HeaderNameError),
        TransformFields.Names("querystring", TransformFields.KeyHasValueError),
    ];

    public static IReadOnlyList<Field> Config { get; } =
    [
        new Field("http_method", FieldKind.String) { MinLength = 1, Pattern = new Regex("^[A-Z]+$", RegexOptions.CultureInvariant) },
        TransformFields.Operation("remove", TransformFields.Names("body"), TransformFields.Names("headers", TransformFields.HeaderNameError), TransformFields.Names("querystring")),
        TransformFields.Operation("rename", ToSet(renames: true)),
        TransformFields.Operation("replace", [.. ToSet(renames: false), new Field("uri", FieldKind.String) { MinLength = 1 }]),
        TransformFields.Operation("add", ToSet(renames: false)),
        TransformFields.Operation("append", ToSet(renames: false)),
    ];

    public static PluginDescriptor Descriptor { get; } = new("request-transformer", Bundled: true, Migrations: null)
    {
        Priority = 801,
        Config = Config,
        Handler = (config, _) => new RequestTransformerHandler(config),
    };
}
