using System.Text.Json.Nodes;
using Gantry.Entities.Schema;
using Gantry.Plugins.Logging;
using static Gantry.Plugins.PluginFields;

namespace Gantry.Plugins.HttpLog;

/// <summary>http-log: sends each request's log entry, in batches, to an HTTP endpoint.</summary>
public static class HttpLogPlugin
{
    public static IReadOnlyList<Field> Config { get; } =
    [
        new Field("http_endpoint", FieldKind.String) { Required = true, MinLength = 1, Check = UrlError },
        Text("method", "POST", oneOf: ["POST", "PUT", "PATCH"]),
        Text("content_type", "application/json", oneOf: ["application/json", "application/json; charset=utf-8"]),
        Number("timeout", 10000),
        Number("keepalive", 60000),
        // Kong 2.x's batching fields, deprecated in 3.x: moved into queue by ConfigShorthands.
        new Field("retry_count", FieldKind.Integer),
        new Field("queue_size", FieldKind.Integer),
        new Field("flush_timeout", FieldKind.Number),
        // Kong reports a bad header name or value on config.headers itself, so the map is checked whole.
        new Field("headers", FieldKind.Map) { Keys = new Field("header", FieldKind.String), Elements = new Field("value", FieldKind.Json), Check = HeadersError },
        LogFields.Queue(),
        LogFields.CustomFieldsByLua(),
    ];

    public static PluginDescriptor Descriptor { get; } = new("http-log", Bundled: true, Migrations: null)
    {
        Priority = 12,
        Config = Config,
        Protocols = LogFields.Protocols,
        Handler = (config, setup) => new QueuedLogHandler("http-log", config, setup, QueueSettings.From(config.Values["queue"]), () => new HttpLogSender(config)),
        ConfigShorthands = BatchingShorthands,
        ConfigChecks = [CredentialsOnce],
    };

    /// <summary>
    /// Kong's url type asks for a host, then a scheme; Gantry also asks for a scheme it can send over, where
    /// Kong would take any and fail at the first log entry.
    /// </summary>
    private static string? UrlError(JsonNode value)
    {
        var text = value.GetValue<string>();
        var schemeEnd = text.IndexOf("://", StringComparison.Ordinal);
        var hasScheme = schemeEnd > 0 && text[..schemeEnd].All(c => char.IsAsciiLetterOrDigit(c) || c is '+' or '-' or '.');
        var authority = schemeEnd >= 0 ? text[(schemeEnd + 3)..] : text.StartsWith("//", StringComparison.Ordinal) ? text[2..] : "";
        var host = authority.Split('/', '?', '#')[0];
        host = host[(host.LastIndexOf('@') + 1)..];
        if (host.Length == 0 || host.StartsWith(':'))
            return "missing host in url";
        if (!hasScheme)
            return "missing scheme in url";
        return Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
            ? null
            : $"unsupported url: '{text}' (http-log sends over http or https)";
    }

    private static readonly string[] ReservedHeaders = ["Host", "Content-Length", "Content-Type"];

    /// <summary>Header names as Kong's header_name type takes them, without the ones the sender sets itself; string values.</summary>
    private static string? HeadersError(JsonNode value)
    {
        foreach (var (name, header) in value.AsObject())
        {
            if (name.Length == 0)
                return "length must be at least 1";
            if (ReservedHeaders.FirstOrDefault(r => r.Equals(name, StringComparison.OrdinalIgnoreCase)) is { } reserved)
                return $"cannot contain '{reserved}' header";
            if (KongHeaderNameError(JsonValue.Create(name)) is { } badName)
                return badName;
            if (header is not JsonValue text || text.GetValueKind() != System.Text.Json.JsonValueKind.String)
                return "expected a string";
            if (text.GetValue<string>().Length == 0)
                return "length must be at least 1";
        }
        return null;
    }

    /// <summary>Credentials in the endpoint's user info and an Authorization header would both claim the request.</summary>
    private static IEnumerable<(string?, string)> CredentialsOnce(JsonObject config)
    {
        var endpoint = config["http_endpoint"]?.GetValue<string>() ?? "";
        var userInfo = Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) && uri.UserInfo.Length > 0;
        if (userInfo && config["headers"] is JsonObject headers && headers.Any(h => h.Key.Equals("Authorization", StringComparison.OrdinalIgnoreCase)))
            yield return ("", "specifying both an 'Authorization' header and user info in 'http_endpoint' is not allowed");
    }

    /// <summary>
    /// Kong 3.x still takes queue_size and flush_timeout (as queue.max_batch_size and
    /// queue.max_coalescing_delay) and ignores retry_count (the queue retries for max_retry_time).
    /// </summary>
    private static void BatchingShorthands(JsonObject config)
    {
        Move(config, "queue_size", "max_batch_size");
        Move(config, "flush_timeout", "max_coalescing_delay");
        config.Remove("retry_count");
    }

    private static void Move(JsonObject config, string flat, string nested)
    {
        if (!config.TryGetPropertyValue(flat, out var value))
            return;
        config.Remove(flat);
        if (value is null)
            return;
        if (config["queue"] is not JsonObject queue)
            config["queue"] = queue = [];
        queue[nested] = value.DeepClone();
    }
}
