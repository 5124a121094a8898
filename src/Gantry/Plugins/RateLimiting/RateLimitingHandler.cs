using System.Globalization;
using Gantry.Plugins.Pipeline;
using StackExchange.Redis;

namespace Gantry.Plugins.RateLimiting;

/// <summary>
/// Counts requests in calendar-aligned UTC windows (second to year) per identifier and answers
/// <c>error_code</c> (429) once a window's limit is reached, with Kong's X-RateLimit-* and RateLimit-*
/// headers. The <c>local</c> policy counts in the node's memory; <c>redis</c> counts in Redis, one key
/// per identifier, period and window start, so every node sharing the server enforces one limit together.
/// The <c>cluster</c> policy is not built: it counts per node, as local does, and the node logs that.
/// </summary>
public sealed class RateLimitingHandler : PluginHandler
{
    private static readonly string[] LimitHeaders = [.. RateLimitingPlugin.Periods.Select(p => "X-RateLimit-Limit-" + Capitalized(p))];
    private static readonly string[] RemainingHeaders = [.. RateLimitingPlugin.Periods.Select(p => "X-RateLimit-Remaining-" + Capitalized(p))];

    private readonly (int Period, long Limit)[] _limits;
    private readonly string _limitBy;
    private readonly string? _headerName;
    private readonly string? _path;
    private readonly bool _hideHeaders;
    private readonly int _errorCode;
    private readonly string _errorMessage;
    private readonly LocalCounters _counters;
    private readonly Guid _scopeRoute;
    private readonly Guid _scopeService;
    private readonly RedisPolicy? _redis;

    public RateLimitingHandler(PluginConfig config, PluginSetup setup)
    {
        _limits = [.. RateLimitingPlugin.Periods.Select((name, index) => (index, name))
            .Where(p => config.Values[p.name] is not null)
            .Select(p => (p.index, (long)config.Number(p.name, 0)))];
        _limitBy = config.Text("limit_by") ?? "consumer";
        _headerName = config.Text("header_name");
        _path = config.Text("path");
        _hideHeaders = config.Flag("hide_client_headers", false);
        _errorCode = (int)config.Number("error_code", 429);
        _errorMessage = config.Text("error_message") ?? "API rate limit exceeded";
        _counters = setup.Node.RateLimitCounters;
        // Counted per the instance's own scope: a service-wide instance counts across its routes, a global one across all.
        _scopeRoute = config.Route ?? Guid.Empty;
        _scopeService = config.Service ?? Guid.Empty;
        var policy = config.Text("policy") ?? "local";
        if (policy == "redis")
            _redis = new RedisPolicy(config, setup);
        else if (policy != "local")
            setup.Logger.LogWarning("rate-limiting: policy '{Policy}' is not built yet; this instance counts per node, as the local policy does", policy);
    }

    private static string Capitalized(string period) => char.ToUpperInvariant(period[0]) + period[1..];

    public override ValueTask AccessAsync(PluginRequest request)
    {
        var now = DateTimeOffset.UtcNow;
        var identifier = Identifier(request);
        if (_redis is not null)
            return _redis.AccessAsync(this, request, identifier, now);
        Span<long> counts = stackalloc long[_limits.Length];
        for (var i = 0; i < _limits.Length; i++)
            counts[i] = _counters.Get(new LocalCounters.CounterKey(_scopeRoute, _scopeService, identifier, _limits[i].Period, WindowStart(_limits[i].Period, now)));
        if (Decide(request, counts, now))
        {
            var nowSeconds = now.ToUnixTimeSeconds();
            foreach (var (period, _) in _limits)
            {
                var start = WindowStart(period, now);
                _counters.Increment(new LocalCounters.CounterKey(_scopeRoute, _scopeService, identifier, period, start), WindowEnd(period, start), nowSeconds);
            }
        }
        return ValueTask.CompletedTask;
    }

    /// <summary>Sets the headers from the windows' counts before this request and refuses it past a limit; true when it passes.</summary>
    private bool Decide(PluginRequest request, ReadOnlySpan<long> counts, DateTimeOffset now)
    {
        var nowSeconds = now.ToUnixTimeSeconds();
        var stop = -1;
        for (var i = 0; i < _limits.Length; i++)
        {
            if (counts[i] >= _limits[i].Limit && stop < 0)
                stop = i;
        }
        long tightestLimit = 0, tightestRemaining = long.MaxValue, reset = 0;
        var tightestLength = 0L;
        for (var i = 0; i < _limits.Length; i++)
        {
            var (period, limit) = _limits[i];
            // The request counts in every window unless one refused it.
            var remaining = Math.Max(0, limit - counts[i] - (stop < 0 || stop == i ? 1 : 0));
            var start = WindowStart(period, now);
            var end = WindowEnd(period, start);
            if (remaining < tightestRemaining || remaining == tightestRemaining && end - start > tightestLength)
            {
                tightestLimit = limit;
                tightestRemaining = remaining;
                tightestLength = end - start;
                reset = Math.Max(1, end - nowSeconds);
            }
            if (!_hideHeaders)
            {
                request.SetResponseHeader(LimitHeaders[period], limit.ToString(CultureInfo.InvariantCulture));
                request.SetResponseHeader(RemainingHeaders[period], remaining.ToString(CultureInfo.InvariantCulture));
            }
        }
        if (!_hideHeaders)
        {
            request.SetResponseHeader("RateLimit-Limit", tightestLimit.ToString(CultureInfo.InvariantCulture));
            request.SetResponseHeader("RateLimit-Remaining", tightestRemaining.ToString(CultureInfo.InvariantCulture));
            request.SetResponseHeader("RateLimit-Reset", reset.ToString(CultureInfo.InvariantCulture));
        }
        if (stop >= 0)
        {
            request.SetResponseHeader("Retry-After", reset.ToString(CultureInfo.InvariantCulture));
            request.Exit(_errorCode, _errorMessage);
            return false;
        }
        return true;
    }

    /// <summary>
    /// Counts in Redis as Kong does: reads each window's key, then INCRBY 1 with the window's length as
    /// expiry. A Redis failure lets the request through (logged once until Redis answers again) when
    /// fault_tolerant, else answers 500.
    /// </summary>
    private sealed class RedisPolicy
    {
        private readonly RedisConnections.RedisAddress _address;
        private readonly RedisConnections _connections;
        private readonly int _database;
        private readonly bool _faultTolerant;
        private readonly ILogger _logger;
        private int _failing;

        public RedisPolicy(PluginConfig config, PluginSetup setup)
        {
            var redis = config.Values["redis"] as System.Text.Json.Nodes.JsonObject;
            string? Text(string name) => redis?[name] is System.Text.Json.Nodes.JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
            long Number(string name, long fallback) => redis?[name] is System.Text.Json.Nodes.JsonValue v ? (long)Entities.Schema.SchemaValidator.ToDouble(v) : fallback;
            bool Flag(string name) => redis?[name] is System.Text.Json.Nodes.JsonValue v && v.TryGetValue<bool>(out var b) && b;
            _address = new RedisConnections.RedisAddress(Text("host") ?? "127.0.0.1", (int)Number("port", 6379), Text("username"), Text("password"),
                Flag("ssl"), Flag("ssl_verify"), Text("server_name"), (int)Math.Clamp(Number("timeout", 2000), 1, int.MaxValue));
            _database = (int)Number("database", 0);
            _faultTolerant = config.Flag("fault_tolerant", true);
            _connections = setup.Node.Redis;
            _logger = setup.Logger;
        }

        public async ValueTask AccessAsync(RateLimitingHandler handler, PluginRequest request, string identifier, DateTimeOffset now)
        {
            var limits = handler._limits;
            var keys = new RedisKey[limits.Length];
            for (var i = 0; i < limits.Length; i++)
            {
                var period = limits[i].Period;
                // Kong's key: route, service, identifier, window start in milliseconds, period name.
                keys[i] = string.Create(CultureInfo.InvariantCulture,
                    $"ratelimit:{handler._scopeRoute}:{handler._scopeService}:{identifier}:{WindowStart(period, now) * 1000}:{RateLimitingPlugin.Periods[period]}");
            }
            long[] counts;
            IDatabase database;
            try
            {
                database = (await _connections.ForAsync(_address)).GetDatabase(_database);
                var values = await database.StringGetAsync(keys);
                counts = [.. values.Select(v => v.IsNull ? 0 : (long)v)];
            }
            catch (Exception error) when (error is not OperationCanceledException)
            {
                Failed(request, error);
                return;
            }
            if (!handler.Decide(request, counts, now))
                return;
            try
            {
                var batch = database.CreateBatch();
                var writes = new List<Task>(limits.Length * 2);
                for (var i = 0; i < limits.Length; i++)
                {
                    var start = WindowStart(limits[i].Period, now);
                    writes.Add(batch.StringIncrementAsync(keys[i]));
                    writes.Add(batch.KeyExpireAsync(keys[i], TimeSpan.FromSeconds(WindowEnd(limits[i].Period, start) - start)));
                }
                batch.Execute();
                await Task.WhenAll(writes);
                if (Interlocked.Exchange(ref _failing, 0) == 1)
                    _logger.LogInformation("rate-limiting: Redis at {Host}:{Port} answers again", _address.Host, _address.Port);
            }
            catch (Exception error) when (error is not OperationCanceledException)
            {
                // The request already passed the check; Kong counts after it too, so a lost count is only logged.
                Failed(null, error);
            }
        }

        private void Failed(PluginRequest? request, Exception error)
        {
            if (Interlocked.Exchange(ref _failing, 1) == 0)
                _logger.LogError("rate-limiting: Redis at {Host}:{Port} failed: {Error}", _address.Host, _address.Port, error.Message);
            if (!_faultTolerant)
                request?.Exit(500, "An unexpected error occurred");
        }
    }

    /// <summary>Whom the limits count: the configured entity, else the client's address.</summary>
    private string Identifier(PluginRequest request)
    {
        var identifier = _limitBy switch
        {
            "consumer" => (request.Consumer?.Id ?? request.CredentialId)?.ToString(),
            "credential" => request.CredentialId?.ToString(),
            "service" => request.ServiceId?.ToString(),
            "header" when _headerName is not null => request.Http.Request.Headers[_headerName].ToString() is { Length: > 0 } value ? value : null,
            "path" when _path is not null => request.Http.Request.Path.Value == _path ? _path : null,
            _ => null,
        };
        return identifier ?? request.Http.Connection.RemoteIpAddress?.ToString() ?? "";
    }

    /// <summary>The window's start in Unix seconds: calendar-aligned in UTC.</summary>
    private static long WindowStart(int period, DateTimeOffset now)
    {
        var seconds = now.ToUnixTimeSeconds();
        return period switch
        {
            0 => seconds,
            1 => seconds - seconds % 60,
            2 => seconds - seconds % 3600,
            3 => seconds - seconds % 86400,
            4 => new DateTimeOffset(now.Year, now.Month, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeSeconds(),
            _ => new DateTimeOffset(now.Year, 1, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeSeconds(),
        };
    }

    private static long WindowEnd(int period, long start) => period switch
    {
        0 => start + 1,
        1 => start + 60,
        2 => start + 3600,
        3 => start + 86400,
        4 => DateTimeOffset.FromUnixTimeSeconds(start).AddMonths(1).ToUnixTimeSeconds(),
        _ => DateTimeOffset.FromUnixTimeSeconds(start).AddYears(1).ToUnixTimeSeconds(),
    };
}
