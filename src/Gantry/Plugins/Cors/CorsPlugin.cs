using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Gantry.Entities.Schema;
using static Gantry.Plugins.PluginFields;

namespace Gantry.Plugins.Cors;

/// <summary>cors: answers preflight requests and adds the Access-Control-* headers.</summary>
public static class CorsPlugin
{
    public static readonly string[] Methods = ["GET", "HEAD", "PUT", "PATCH", "POST", "DELETE", "OPTIONS", "TRACE", "CONNECT"];

    public static IReadOnlyList<Field> Config { get; } =
    [
        NonEmptyStrings("origins", check: AsteriskOrRegexError),
        NonEmptyStrings("headers"),
        NonEmptyStrings("exposed_headers"),
        Strings("methods", Methods, oneOf: Methods),
        Number("max_age"),
        Flag("credentials", false),
        Flag("private_network", false),
        Flag("preflight_continue", false),
    ];

    public static PluginDescriptor Descriptor { get; } = new("cors", Bundled: true, Migrations: null)
    {
        Priority = 2000,
        Config = Config,
        NoConsumer = true,
        Handler = (config, _) => new CorsHandler(config),
    };

    /// <summary>An origin is matched as a regex unless it is "*"; one that does not compile would never match.</summary>
    private static string? AsteriskOrRegexError(JsonNode value)
    {
        var origin = value.GetValue<string>();
        if (origin == "*")
            return null;
        try
        {
            _ = new Regex(origin, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
            return null;
        }
        catch (ArgumentException)
        {
            return $"'{origin}' is not a valid regex";
        }
    }
}
