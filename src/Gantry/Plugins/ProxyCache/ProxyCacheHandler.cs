using System.Globalization;
using Gantry.Plugins.Pipeline;
using Microsoft.Net.Http.Headers;

namespace Gantry.Plugins.ProxyCache;

/// <summary>
/// Serves a cached response in the access phase without reaching the upstream (Hit); otherwise lets the
/// request through and, when the upstream's answer is cacheable, keeps a copy of it as it streams to the
/// client (Miss, or Refresh for an entry too old for the client), stored once the body was copied whole.
/// </summary>
public sealed class ProxyCacheHandler(PluginConfig config, ProxyCacheStore store) : PluginHandler
{
    /// <summary>A body larger than this streams on without being kept: it would crowd the dictionary out.</summary>
    public const int BodyLimit = 8 << 20;

    private static readonly object PendingKey = new();

    // Kong leaves these to the node that answers a hit; Content-Length is that of the body sent.
    private static readonly HashSet<string> NotReplayed = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "TE", "Trailers", "Transfer-Encoding",
        "Upgrade", "Content-Length", "Content-Type", "Age", "X-Cache-Status", "X-Cache-Key",
    };

    private readonly HashSet<string> _methods = new(config.Strings("request_method", ["GET", "HEAD"]), StringComparer.Ordinal);
    private readonly HashSet<int> _statuses = ((System.Text.Json.Nodes.JsonArray?)config.Values["response_code"])?
        .Select(v => (int)Entities.Schema.SchemaValidator.ToDouble(v!)).ToHashSet() ?? [200, 301, 404];
    private readonly CacheableTypes _contentTypes = new(config.Strings("content_type", ["text/plain", "application/json"]));
    private readonly long _cacheTtl = (long)config.Number("cache_ttl", 300);
    private readonly long? _storageTtl = config.Values["storage_ttl"] is { } ttl ? (long)Entities.Schema.SchemaValidator.ToDouble(ttl) : null;
    private readonly bool _cacheControl = config.Flag("cache_control", false);
    private readonly bool _ignoreUriCase = config.Flag("ignore_uri_case", false);
    private readonly string[] _varyQuery = config.Strings("vary_query_params", []);
    private readonly string[] _varyHeaders = config.Strings("vary_headers", []);
    private readonly bool _ageHeader = ResponseHeader(config, "age");
    private readonly bool _statusHeader = ResponseHeader(config, "X-Cache-Status");
    private readonly bool _keyHeader = ResponseHeader(config, "X-Cache-Key");

    public ProxyCacheStore Store { get; } = store;

    private static bool ResponseHeader(PluginConfig config, string name) =>
        config.Values["response_headers"]?[name]?.GetValue<bool>() ?? true;

    public override ValueTask AccessAsync(PluginRequest request)
    {
        var http = request.Http;
        var requestCc = _cacheControl ? CacheControl.Parse(http.Request.Headers.CacheControl) : null;
        if (!_methods.Contains(http.Request.Method)
            || (requestCc is not null && (requestCc.Has("no-store") || requestCc.Has("no-cache") || http.Request.Headers.ContainsKey(HeaderNames.Authorization))))
        {
            Status(request, "Bypass");
            return ValueTask.CompletedTask;
        }
        var path = ProxyCacheKey.RawPath(http);
        if (_ignoreUriCase)
            path = path.ToLowerInvariant();
        var key = ProxyCacheKey.Build(request.Consumer?.Id, request.RouteId, http.Request.Method, path,
            http.Request.QueryString.Value ?? "", http.Request.Headers, _varyQuery, _varyHeaders);
        if (Shows(request, _keyHeader))
            request.SetResponseHeader("X-Cache-Key", key);
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var cached = Store.Fetch(key, now);
        if (cached is null)
        {
            // The client only wants what is cached (RFC 9111 5.2.1.7): Kong answers 504.
            if (requestCc?.Has("only-if-cached") == true)
            {
                request.Exit(504);
                return ValueTask.CompletedTask;
            }
            Pend(request, key, "Miss");
            return ValueTask.CompletedTask;
        }
        var ageMs = now - cached.Timestamp;
        if (requestCc is not null ? TooOldForClient(requestCc, cached, ageMs) : ageMs > _cacheTtl * 1000)
        {
            Pend(request, key, "Refresh");
            return ValueTask.CompletedTask;
        }
        SendHit(request, cached, ageMs);
        return ValueTask.CompletedTask;
    }

    private static bool TooOldForClient(CacheControl requestCc, CachedResponse cached, long ageMs) =>
        (requestCc.Seconds("max-age") is { } maxAge && ageMs > maxAge * 1000)
        || (requestCc.Seconds("max-stale") is { } maxStale && ageMs - cached.Ttl * 1000 > maxStale * 1000)
        || (requestCc.Seconds("min-fresh") is { } minFresh && cached.Ttl * 1000 - ageMs < minFresh * 1000);

    private void SendHit(PluginRequest request, CachedResponse cached, long ageMs)
    {
        string? contentType = null;
        foreach (var (name, values) in cached.Headers)
        {
            if (string.Equals(name, HeaderNames.ContentType, StringComparison.OrdinalIgnoreCase))
                contentType = values.FirstOrDefault();
            // A rate limit's remaining count is the current request's, never the cached one.
            if (NotReplayed.Contains(name) || name.Contains("ratelimit-remaining", StringComparison.OrdinalIgnoreCase))
                continue;
            for (var i = 0; i < values.Length; i++)
            {
                if (i == 0)
                    request.SetResponseHeader(name, values[i]);
                else
                    request.AppendResponseHeader(name, values[i]);
            }
        }
        if (Shows(request, _ageHeader))
            request.SetResponseHeader("Age", (ageMs / 1000).ToString(CultureInfo.InvariantCulture));
        Status(request, "Hit");
        request.Exit(cached.Status, cached.Body, contentType);
    }

    // As in Kong, a request with a Kong-Debug header gets the diagnostic headers whatever response_headers says.
    private static bool Shows(PluginRequest request, bool configured) => configured || request.Http.Request.Headers.ContainsKey("Kong-Debug");

    private void Status(PluginRequest request, string status)
    {
        if (Shows(request, _statusHeader))
            request.SetResponseHeader("X-Cache-Status", status);
    }

    private void Pend(PluginRequest request, string key, string status)
    {
        Status(request, status);
        request.Http.Items[PendingKey] = key;
    }

    public override void HeaderFilter(PluginRequest request)
    {
        var http = request.Http;
        if (http.Items[PendingKey] is not string key)
            return;
        http.Items.Remove(PendingKey);
        var response = http.Response;
        var responseCc = _cacheControl ? CacheControl.Parse(response.Headers.CacheControl) : null;
        long freshness = 0;
        // Only the upstream's own answer is kept, and only while no other plugin rewrites its body
        // (response-transformer holds a JSON body back to change it: the copy would not be what was sent).
        var cacheable = request.UpstreamReceived != 0
            && !request.ResponseBodyHeld
            && _statuses.Contains(response.StatusCode)
            && response.Headers.ContentType is { Count: 1 } type && _contentTypes.Allows(type.ToString())
            && (responseCc is null || (!responseCc.Has("private") && !responseCc.Has("no-store") && !responseCc.Has("no-cache")
                && (freshness = ResourceTtl(responseCc, response.Headers)) > 0))
            && response.Headers.ContentLength is null or <= BodyLimit;
        if (!cacheable)
        {
            if (Shows(request, _statusHeader))
                response.Headers["X-Cache-Status"] = "Bypass";
            return;
        }
        var ttl = responseCc is null ? _cacheTtl : freshness;
        var headers = new List<KeyValuePair<string, string[]>>();
        foreach (var (name, values) in response.Headers)
        {
            if (!NotReplayed.Contains(name) || string.Equals(name, HeaderNames.ContentType, StringComparison.OrdinalIgnoreCase))
                headers.Add(new(name, values.Select(v => v ?? "").ToArray()));
        }
        var copy = new CopyingStream(response.Body);
        response.Body = copy;
        var status = response.StatusCode;
        request.OnResponseEnd(whole =>
        {
            response.Body = copy.Inner;
            if (whole && !copy.Overflowed)
            {
                var entry = new CachedResponse(status, headers, copy.Copy.ToArray(), DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), ttl);
                Store.Store(key, entry, _storageTtl ?? ttl);
            }
            return ValueTask.CompletedTask;
        });
    }

    /// <summary>How long the upstream says its response stays fresh: s-maxage, max-age, or Expires less now.</summary>
    private static long ResourceTtl(CacheControl responseCc, IHeaderDictionary headers)
    {
        var maxAge = responseCc.Seconds("s-maxage") ?? responseCc.Seconds("max-age");
        if (maxAge is null && headers.Expires.Count > 0
            && DateTimeOffset.TryParse(headers.Expires[^1], CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var expires))
            maxAge = expires.ToUnixTimeSeconds() - DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        return Math.Max(maxAge ?? 0, 0);
    }

    /// <summary>Passes the body on to the client as it comes, keeping a copy up to <see cref="BodyLimit"/>.</summary>
    private sealed class CopyingStream(Stream inner) : WriteOnlyStream(inner)
    {
        public MemoryStream Copy { get; } = new();

        public bool Overflowed { get; private set; }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Keep(buffer.Span);
            return Inner.WriteAsync(buffer, cancellationToken);
        }

        public override void Write(byte[] buffer, int offset, int count)
        {
            Keep(buffer.AsSpan(offset, count));
            Inner.Write(buffer, offset, count);
        }

        private void Keep(ReadOnlySpan<byte> bytes)
        {
            if (Overflowed)
                return;
            if (Copy.Length + bytes.Length > BodyLimit)
            {
                Overflowed = true;
                Copy.SetLength(0);
                return;
            }
            Copy.Write(bytes);
        }
    }
}
