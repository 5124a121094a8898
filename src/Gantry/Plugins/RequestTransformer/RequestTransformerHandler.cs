using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gantry.Plugins.Pipeline;
using Microsoft.AspNetCore.Http.Features;

namespace Gantry.Plugins.RequestTransformer;

/// <summary>
/// Changes the request before it is forwarded, in Kong's order: the method, the headers, the body, the
/// path, the query. A part no rule names is left exactly as the client sent it, and a part the rules
/// did not change in the end is forwarded as it came too. Template values (<c>$(headers.x)</c>) are not
/// evaluated: a value is sent as written. Multipart bodies are forwarded untouched.
/// </summary>
public sealed class RequestTransformerHandler : PluginHandler
{
    /// <summary>Bodies larger than this are forwarded untouched: the transform would hold them in memory.</summary>
    public const int BodyLimit = 8 << 20;

    private readonly string? _method;
    private readonly string? _uri;
    private readonly TransformRules _headers;
    private readonly TransformRules _query;
    private readonly TransformRules _body;
    private readonly bool _touchesHost;

    public RequestTransformerHandler(PluginConfig config)
    {
        _method = config.Text("http_method");
        _uri = config.Values["replace"]?["uri"]?.GetValue<string>() is { } uri ? EscapePath(uri) : null;
        _headers = new TransformRules(config, "headers");
        _query = new TransformRules(config, "querystring");
        _body = new TransformRules(config, "body");
        _touchesHost = _headers.Touches("host");
    }

    public override async ValueTask AccessAsync(PluginRequest request)
    {
        var http = request.Http.Request;
        if (_method is not null)
            http.Method = _method;
        if (!_headers.IsEmpty)
        {
            _headers.Apply(new HeaderFields(http.Headers));
            // The proxy writes the upstream's Host itself; a rule on Host decides it instead, as in Kong.
            if (_touchesHost && http.Headers.Host.Count > 0)
                request.UpstreamHost = http.Headers.Host.ToString();
        }
        if (!_body.IsEmpty)
            await TransformBodyAsync(http);
        if (_uri is not null)
            request.UpstreamPath = _uri;
        if (!_query.IsEmpty)
        {
            var arguments = ArgumentFields.Parse(http.QueryString.Value ?? "");
            if (_query.Apply(arguments))
                http.QueryString = arguments.Arguments.Count == 0 ? QueryString.Empty : QueryString.Create(arguments.Arguments);
        }
    }

    private async Task TransformBodyAsync(HttpRequest http)
    {
        var type = http.ContentType ?? "";
        var isForm = type.StartsWith("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase);
        var isJson = !isForm && type.StartsWith("application/json", StringComparison.OrdinalIgnoreCase);
        if (!isForm && !isJson || http.ContentLength is > BodyLimit)
            return;
        if (await ReadAsync(http) is not { } original)
            return;
        byte[]? changed = null;
        if (isForm)
        {
            var form = ArgumentFields.Parse(Encoding.UTF8.GetString(original));
            if (_body.Apply(form))
                changed = Encoding.UTF8.GetBytes(QueryString.Create(form.Arguments).ToUriComponent().TrimStart('?'));
        }
        else if (ParseJson(original) is { } json)
        {
            if (_body.Apply(new JsonFields(json)))
                changed = Encoding.UTF8.GetBytes(json.ToJsonString());
        }
        var body = changed ?? original;
        http.Body = new MemoryStream(body, writable: false);
        if (changed is not null)
        {
            http.ContentLength = changed.Length;
            http.Headers.Remove("Transfer-Encoding");
            // The forwarder sends no body for a request that came without one; fields added to it make one.
            if (original.Length == 0)
                http.HttpContext.Features.Set<IHttpRequestBodyDetectionFeature>(HasBody.Instance);
        }
    }

    private sealed class HasBody : IHttpRequestBodyDetectionFeature
    {
        public static readonly HasBody Instance = new();

        public bool CanHaveBody => true;
    }

    /// <summary>The whole body, or null with the body rewound to its start when it is larger than the limit.</summary>
    private static async Task<byte[]?> ReadAsync(HttpRequest http)
    {
        // Buffering lets a chunked body found too large be forwarded from its first byte.
        http.EnableBuffering();
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await http.Body.ReadAsync(chunk)) > 0)
        {
            buffer.Write(chunk, 0, read);
            if (buffer.Length > BodyLimit)
            {
                http.Body.Position = 0;
                return null;
            }
        }
        return buffer.ToArray();
    }

    /// <summary>The body's object; an empty body counts as an empty object (fields can be added), anything else is left alone.</summary>
    private static JsonObject? ParseJson(byte[] body)
    {
        if (body.Length == 0)
            return new JsonObject();
        try
        {
            return JsonNode.Parse(body) as JsonObject;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// The configured path as it goes on the request line: escapes stay, anything a path may not hold
    /// (a space, a CR or LF, a '?') is percent-encoded, so the value cannot add a query or a header.
    /// </summary>
    private static string EscapePath(string uri)
    {
        var text = new StringBuilder(uri.Length + 1);
        if (!uri.StartsWith('/'))
            text.Append('/');
        var bytes = Encoding.UTF8.GetBytes(uri);
        for (var i = 0; i < bytes.Length; i++)
        {
            var b = bytes[i];
            var escape = b == '%' && i + 2 < bytes.Length && Uri.IsHexDigit((char)bytes[i + 1]) && Uri.IsHexDigit((char)bytes[i + 2]);
            if (escape || b < 0x80 && (char.IsAsciiLetterOrDigit((char)b) || "-._~!$&'()*+,;=:@/".Contains((char)b)))
                text.Append((char)b);
            else
                text.Append('%').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
        }
        return text.ToString();
    }
}
