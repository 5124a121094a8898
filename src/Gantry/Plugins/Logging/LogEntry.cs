using System.Buffers;
using System.Diagnostics;
using System.Text.Json;
using Gantry.Plugins.Pipeline;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Connections.Features;

namespace Gantry.Plugins.Logging;

/// <summary>
/// Kong's log entry of one request (the object its log serializer builds), written as UTF-8 JSON in the
/// log phase so that the loggers only queue bytes: request, upstream_uri, upstream_status, response,
/// latencies, route, service, consumer, authenticated_entity, client_ip, started_at, source.
/// </summary>
public static class LogEntry
{
    /// <summary>Kong never logs these headers' values: they carry credentials.</summary>
    private const string Redacted = "REDACTED";

    public static byte[] Serialize(PluginRequest request)
    {
        var buffer = new ArrayBufferWriter<byte>(2048);
        using (var json = new Utf8JsonWriter(buffer))
            Write(json, request);
        return buffer.WrittenSpan.ToArray();
    }

    private static void Write(Utf8JsonWriter json, PluginRequest request)
    {
        var http = request.Http;
        var now = Stopwatch.GetTimestamp();
        var proxied = request.UpstreamReceived != 0;
        json.WriteStartObject();

        json.WriteStartObject("request");
        var requestId = http.Response.Headers["X-Kong-Request-Id"].ToString();
        if (requestId.Length == 0)
            requestId = http.Request.Headers["X-Kong-Request-Id"].ToString();
        if (requestId.Length > 0)
            json.WriteString("id", requestId);
        var uri = RawTarget(http);
        json.WriteString("uri", uri);
        json.WriteString("url", $"{http.Request.Scheme}://{http.Request.Host.Host}:{http.Request.Host.Port ?? http.Connection.LocalPort}{uri}");
        json.WriteString("method", http.Request.Method);
        json.WriteNumber("size", http.Request.ContentLength ?? 0);
        WriteQuery(json, http.Request.Query, http.Request.QueryString.Value ?? "");
        WriteHeaders(json, http.Request.Headers, redact: true);
        if (http.Request.IsHttps && http.Features.Get<ITlsHandshakeFeature>() is { } tls)
        {
            json.WriteStartObject("tls");
            json.WriteString("version", TlsVersion(tls.Protocol));
            json.WriteString("cipher", tls.NegotiatedCipherSuite?.ToString() ?? "");
            json.WriteString("client_verify", "NONE");
            json.WriteEndObject();
        }
        json.WriteEndObject();

        json.WriteString("upstream_uri", (request.UpstreamPath ?? request.Match.UpstreamPath) + http.Request.QueryString.Value);
        if (proxied)
            json.WriteString("upstream_status", http.Response.StatusCode.ToString(System.Globalization.CultureInfo.InvariantCulture));

        json.WriteStartObject("response");
        json.WriteNumber("status", http.Response.StatusCode);
        json.WriteNumber("size", request.ResponseBytes ?? http.Response.ContentLength ?? 0);
        WriteHeaders(json, http.Response.Headers, redact: false);
        json.WriteEndObject();

        // Kong's latencies: request is the whole time, proxy the upstream's (until its headers), receive
        // the time the upstream's body took, kong what is left (Gantry's own work).
        var total = Milliseconds(request.Started, now);
        var proxy = proxied ? Milliseconds(request.UpstreamSent, request.UpstreamReceived) : -1;
        var receive = proxied ? Milliseconds(request.UpstreamReceived, now) : 0;
        json.WriteStartObject("latencies");
        json.WriteNumber("kong", Math.Max(0, total - Math.Max(0, proxy) - receive));
        json.WriteNumber("proxy", proxy);
        json.WriteNumber("request", total);
        json.WriteNumber("receive", receive);
        json.WriteEndObject();

        var route = request.Match.Route;
        json.WriteStartObject("route");
        json.WriteString("id", route.Id);
        WriteOptional(json, "name", route.Name);
        WriteStrings(json, "paths", route.Paths);
        WriteStrings(json, "hosts", route.Hosts);
        WriteStrings(json, "methods", route.Methods);
        WriteStrings(json, "protocols", route.Protocols);
        json.WriteBoolean("strip_path", route.StripPath);
        json.WriteBoolean("preserve_host", route.PreserveHost);
        if (request.ServiceId is { } serviceRef)
        {
            json.WriteStartObject("service");
            json.WriteString("id", serviceRef);
            json.WriteEndObject();
        }
        json.WriteEndObject();

        if (request.ServiceId is { } serviceId)
        {
            json.WriteStartObject("service");
            json.WriteString("id", serviceId);
            if (route.ServiceLabel is { } label && label != serviceId.ToString())
                json.WriteString("name", label);
            json.WriteEndObject();
        }

        if (request.Consumer is { } consumer)
        {
            json.WriteStartObject("consumer");
            json.WriteString("id", consumer.Id);
            WriteOptional(json, "username", consumer.Username);
            WriteOptional(json, "custom_id", consumer.CustomId);
            json.WriteEndObject();
        }
        if (request.CredentialId is { } credential)
        {
            json.WriteStartObject("authenticated_entity");
            json.WriteString("id", credential);
            json.WriteEndObject();
        }

        json.WriteString("client_ip", http.Connection.RemoteIpAddress?.ToString() ?? "");
        var startedAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - total;
        json.WriteNumber("started_at", startedAt);
        json.WriteString("source", proxied ? "upstream" : "kong");
        json.WriteEndObject();
    }

    /// <summary>The request target as the client sent it (path and query), as Kong's <c>request_uri</c>.</summary>
    private static string RawTarget(HttpContext http)
    {
        var raw = http.Features.Get<IHttpRequestFeature>()?.RawTarget;
        return string.IsNullOrEmpty(raw) ? http.Request.Path.ToUriComponent() + http.Request.QueryString.Value : raw;
    }

    private static void WriteQuery(Utf8JsonWriter json, IQueryCollection query, string raw)
    {
        json.WriteStartObject("querystring");
        foreach (var (name, values) in query)
        {
            // A bare argument (?debug) is true in Kong's querystring; ASP.NET Core reads it as "" like ?debug=, so the raw query tells them apart.
            if (values.Count == 1 && string.IsNullOrEmpty(values[0]) && !raw.Contains(name + "=", StringComparison.Ordinal))
                json.WriteBoolean(name, true);
            else if (values.Count == 1)
                json.WriteString(name, values[0]);
            else
            {
                json.WriteStartArray(name);
                foreach (var value in values)
                    json.WriteStringValue(value);
                json.WriteEndArray();
            }
        }
        json.WriteEndObject();
    }

    private static void WriteHeaders(Utf8JsonWriter json, IHeaderDictionary headers, bool redact)
    {
        json.WriteStartObject("headers");
        foreach (var (name, values) in headers)
        {
            var lower = name.ToLowerInvariant();
            if (redact && lower is "authorization" or "proxy-authorization")
                json.WriteString(lower, Redacted);
            else if (values.Count == 1)
                json.WriteString(lower, values[0]);
            else
            {
                json.WriteStartArray(lower);
                foreach (var value in values)
                    json.WriteStringValue(value);
                json.WriteEndArray();
            }
        }
        json.WriteEndObject();
    }

    private static void WriteOptional(Utf8JsonWriter json, string name, string? value)
    {
        if (value is not null)
            json.WriteString(name, value);
    }

    private static void WriteStrings(Utf8JsonWriter json, string name, IReadOnlyList<string>? values)
    {
        if (values is null)
            return;
        json.WriteStartArray(name);
        foreach (var value in values)
            json.WriteStringValue(value);
        json.WriteEndArray();
    }

    private static string TlsVersion(System.Security.Authentication.SslProtocols protocol) => protocol switch
    {
        System.Security.Authentication.SslProtocols.Tls13 => "TLSv1.3",
        System.Security.Authentication.SslProtocols.Tls12 => "TLSv1.2",
        _ => protocol.ToString(),
    };

    private static long Milliseconds(long from, long to) => (long)Stopwatch.GetElapsedTime(from, to).TotalMilliseconds;
}
