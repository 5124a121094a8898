using System.Text.Json;
using System.Text.Json.Nodes;
using Gantry.Plugins.Pipeline;
using Gantry.Plugins.RequestTransformer;

namespace Gantry.Plugins.ResponseTransformer;

/// <summary>
/// Changes the response on its way to the client: its headers, and, when there are JSON rules, the body
/// of an uncompressed JSON response from the upstream, held back whole, changed and sent with its new
/// length. Every other response streams through as it came. Gantry's own answers (a plugin's 401, a 502)
/// get the header rules only.
/// </summary>
public sealed class ResponseTransformerHandler(PluginConfig config) : PluginHandler
{
    /// <summary>A JSON body larger than this is sent on as it came: the transform would hold it in memory.</summary>
    public const int BodyLimit = 8 << 20;

    private readonly TransformRules _headers = new(config, "headers");
    private readonly TransformRules _json = new(config, "json", typesField: "json_types");

    public override void HeaderFilter(PluginRequest request)
    {
        var response = request.Http.Response;
        if (!_json.IsEmpty && request.UpstreamReceived != 0 && CarriesJson(request.Http))
        {
            response.ContentLength = null;
            var held = new HeldBody(response.Body);
            response.Body = held;
            request.OnResponseEnd(whole => SendAsync(response, held, whole));
        }
        if (!_headers.IsEmpty)
            _headers.Apply(new HeaderFields(response.Headers));
    }

    private static bool CarriesJson(HttpContext http)
    {
        var response = http.Response;
        var type = response.ContentType ?? "";
        return (type.Contains("application/json", StringComparison.OrdinalIgnoreCase) || type.Contains("+json", StringComparison.OrdinalIgnoreCase))
            && response.StatusCode is not (204 or 304)
            && !HttpMethods.IsHead(http.Request.Method)
            && (response.Headers.ContentEncoding.Count == 0 || response.Headers.ContentEncoding == "identity")
            && response.Headers.ContentLength is null or <= BodyLimit;
    }

    private async ValueTask SendAsync(HttpResponse response, HeldBody held, bool whole)
    {
        response.Body = held.Inner;
        // A body that broke off is dropped: the proxy answers the error itself if nothing was sent yet.
        if (!whole || held.Overflowed)
            return;
        var body = held.Buffer.ToArray();
        if (Transform(body) is { } changed)
            body = changed;
        response.ContentLength = body.Length;
        await response.Body.WriteAsync(body);
    }

    private byte[]? Transform(byte[] body)
    {
        try
        {
            if (JsonNode.Parse(body) is JsonObject json && _json.Apply(new JsonFields(json)))
                return JsonSerializer.SerializeToUtf8Bytes(json);
        }
        catch (JsonException)
        {
            // Not JSON after all: sent as it came.
        }
        return null;
    }

    /// <summary>
    /// The response body, kept in memory until the upstream's has been copied whole; past
    /// <see cref="BodyLimit"/> (a chunked body) what was kept is sent and the rest streams on unchanged.
    /// </summary>
    private sealed class HeldBody(Stream inner) : WriteOnlyStream(inner)
    {
        public MemoryStream Buffer { get; } = new();

        public bool Overflowed { get; private set; }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (!Overflowed && Buffer.Length + buffer.Length > BodyLimit)
            {
                Overflowed = true;
                await Inner.WriteAsync(Buffer.GetBuffer().AsMemory(0, (int)Buffer.Length), cancellationToken);
            }
            if (Overflowed)
                await Inner.WriteAsync(buffer, cancellationToken);
            else
                Buffer.Write(buffer.Span);
        }

        public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer, offset, count).GetAwaiter().GetResult();

        // Held data is not flushed: the headers go out with the changed body's length.
        public override Task FlushAsync(CancellationToken cancellationToken) => Overflowed ? Inner.FlushAsync(cancellationToken) : Task.CompletedTask;

        public override void Flush()
        {
        }
    }
}
