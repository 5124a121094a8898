using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Gantry.Entities.Schema;
using static Gantry.Plugins.PluginFields;

namespace Gantry.Plugins.BotDetection;

/// <summary>bot-detection: refuses requests whose User-Agent is a known bot or matches <c>deny</c>, unless it matches <c>allow</c>.</summary>
public static class BotDetectionPlugin
{
    public static IReadOnlyList<Field> Config { get; } =
    [
        NonEmptyStrings("allow", [], check: RegexError),
        NonEmptyStrings("deny", [], check: RegexError),
    ];

    public static PluginDescriptor Descriptor { get; } = new("bot-detection", Bundled: true, Migrations: null)
    {
        Priority = 2500,
        Config = Config,
        // Kong's schema has no consumer: the decision rests on the client, not on who it is.
        NoConsumer = true,
        Handler = (config, _) => new BotDetectionHandler(config),
    };

    private static string? RegexError(JsonNode value)
    {
        var pattern = value.GetValue<string>();
        try
        {
            _ = new Regex(pattern, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
            return null;
        }
        catch (ArgumentException)
        {
            return $"not a valid regex: {pattern}";
        }
    }
}
