using System.Text;
using System.Text.Json.Nodes;
using Gantry.Plugins.Pipeline;
using Microsoft.Extensions.Primitives;

namespace Gantry.Plugins.RequestTermination;

/// <summary>
/// Answers the request with the configured status and a message, a raw body, or (with <c>echo</c>) the
/// request itself as JSON; with a <c>trigger</c>, only requests carrying that header or query argument.
/// </summary>
public sealed class RequestTerminationHandler(PluginConfig config) : PluginHandler
{
    private readonly int _status = (int)config.Number("status_code", 503);
    private readonly string? _message = config.Text("message");
    private readonly byte[]? _body = config.Text("body") is { } body ? Encoding.UTF8.GetBytes(body) : null;
    private readonly string? _contentType = config.Text("content_type");
    private readonly bool _echo = config.Flag("echo", false);
    private readonly string? _trigger = config.Text("trigger");

    public override async ValueTask AccessAsync(PluginRequest request)
    {
        var http = request.Http.Request;
        if (_trigger is not null && !http.Headers.ContainsKey(_trigger) && !http.Query.ContainsKey(_trigger))
            return;
        if (_echo)
            request.Exit(_status, Encoding.UTF8.GetBytes((await EchoAsync(request)).ToJsonString()), "application/json; charset=utf-8");
        else if (_body is not null)
            request.Exit(_status, _body, _contentType);
        else if ((_message ?? DefaultMessage(_status)) is { } message)
            request.Exit(_status, message);
        else
            request.Exit(_status, "{}"u8.ToArray(), "application/json; charset=utf-8");
    }

    // Kong's messages for the statuses it names; other statuses without a message answer an empty object.
    private static string? DefaultMessage(int status) => status switch
    {
        401 => "Unauthorized",
        404 => "Not found",
        405 => "Method not allowed",
        500 => "An unexpected error occurred",
        502 => "Bad Gateway",
        503 => "Service unavailable",
        _ => null,
    };

    private async Task<JsonObject> EchoAsync(PluginRequest request)
    {
        var http = request.Http;
        var headers = new JsonObject();
        foreach (var (name, values) in http.Request.Headers)
            headers[name.ToLowerInvariant()] = Values(values);
        var query = new JsonObject();
        foreach (var (name, values) in http.Request.Query)
            query[name] = Values(values);
        var raw = await ReadBodyAsync(http.Request);
        var route = request.Match.Route;
        return new JsonObject
        {
            ["message"] = _message ?? DefaultMessage(_status),
            ["kong"] = new JsonObject
            {
                ["worker_pid"] = Environment.ProcessId,
                ["hostname"] = Environment.MachineName,
            },
            ["request"] = new JsonObject
            {
                ["scheme"] = http.Request.Scheme,
                ["host"] = http.Request.Host.Host,
                ["port"] = http.Request.Host.Port ?? http.Connection.LocalPort,
                ["method"] = http.Request.Method,
                ["path"] = http.Request.Path.Value,
                ["headers"] = headers,
                ["query"] = query,
                ["raw_body"] = raw,
            },
            ["matched_route"] = new JsonObject
            {
                ["id"] = route.Id.ToString(),
                ["name"] = route.Name,
                ["paths"] = route.Paths is null ? null : new JsonArray([.. route.Paths.Select(p => JsonValue.Create(p))]),
            },
            ["matched_service"] = request.ServiceId is { } service ? new JsonObject { ["id"] = service.ToString() } : null,
        };
    }

    private static JsonNode? Values(StringValues values) =>
        values.Count == 1 ? JsonValue.Create(values[0]) : new JsonArray([.. values.Select(v => JsonValue.Create(v))]);

    /// <summary>The body as text, up to the size plugins read; larger bodies echo as null rather than filling memory.</summary>
    private static async Task<string?> ReadBodyAsync(HttpRequest http)
    {
        if (http.ContentLength is > RequestBody.Limit)
            return null;
        var buffer = new MemoryStream();
        var chunk = new byte[16384];
        int read;
        while ((read = await http.Body.ReadAsync(chunk)) > 0)
        {
            if (buffer.Length + read > RequestBody.Limit)
                return null;
            buffer.Write(chunk, 0, read);
        }
        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }
}
