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
    private static readonly string[] Parts = ["body", "headers", "querystring"];

    public static IReadOnlyList<Field> Config { get; } =
    [
        new Field("http_method", FieldKind.String) { Pattern = new Regex("^[A-Z]+$", RegexOptions.CultureInvariant) },
        TransformFields.Names("remove", Parts),
        TransformFields.Pairs("rename", Parts, renamesHeaders: true),
        TransformFields.Pairs("replace", Parts, extra: new Field("uri", FieldKind.String)),
        TransformFields.Pairs("add", Parts),
        TransformFields.Pairs("append", Parts),
    ];

    public static PluginDescriptor Descriptor { get; } = new("request-transformer", Bundled: true, Migrations: null)
    {
        Priority = 801,
        Config = Config,
        Handler = (config, _) => new RequestTransformerHandler(config),
    };
}
