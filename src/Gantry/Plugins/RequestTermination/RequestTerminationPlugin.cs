using System.Text.Json;
using System.Text.Json.Nodes;
using Gantry.Entities.Schema;
using static Gantry.Plugins.PluginFields;

namespace Gantry.Plugins.RequestTermination;

/// <summary>request-termination: answers every request (or those carrying a trigger) itself, without the upstream.</summary>
public static class RequestTerminationPlugin
{
    public static IReadOnlyList<Field> Config { get; } =
    [
        new Field("status_code", FieldKind.Integer) { Default = JsonValue.Create(503), Required = true, Min = 100, Max = 599 },
        new Field("message", FieldKind.String) { MinLength = 1 },
        new Field("content_type", FieldKind.String) { MinLength = 1 },
        new Field("body", FieldKind.String) { MinLength = 1 },
        Flag("echo", false),
        KongHeaderName("trigger"),
    ];

    public static PluginDescriptor Descriptor { get; } = new("request-termination", Bundled: true, Migrations: null)
    {
        // Kong runs it last of the access phase, so authentication and limits still apply before it answers.
        Priority = 2,
        Config = Config,
        ConfigChecks = [BodyRules],
        Handler = (config, _) => new RequestTerminationHandler(config),
    };

    // Kong reports these on the config record itself (fields.config), not on one of its fields; "" names the record.
    private static IEnumerable<(string?, string)> BodyRules(JsonObject config)
    {
        var message = IsSet(config["message"]);
        var body = IsSet(config["body"]);
        var contentType = IsSet(config["content_type"]);
        if (message && (body || contentType))
            yield return ("", "message cannot be used with content_type or body");
        else if (contentType && !body)
            yield return ("", "content_type requires a body");
        else if (config["echo"] is JsonValue echo && echo.GetValueKind() == JsonValueKind.True && (body || contentType))
            yield return ("", "echo cannot be used with content_type and body");
    }

    private static bool IsSet(JsonNode? value) =>
        value is JsonValue v && v.GetValueKind() == JsonValueKind.String && v.GetValue<string>().Length > 0;
}
