using System.Globalization;
using Gantry.Plugins.Pipeline;

namespace Gantry.Plugins.RateLimiting;

/// <summary>
/// Counts requests in calendar-aligned UTC windows (second to year) per identifier and answers
/// <c>error_code</c> (429) once a window's limit is reached, with Kong's X-RateLimit-* and RateLimit-*
/// headers. Where the counts live is the policy's store: the node's memory (local), Redis (redis) or the
/// database (cluster); with the last two every node sharing the store enforces one limit together.
/// </summary>
public sealed class RateLimitingHandler : PluginHandler
{
    /// <summary>The cluster policy's table, created by the plugin's migration.</summary>
    public const string ClusterTable = "ratelimiting_metrics";

    private static readonly string[] LimitHeaders = [.. RateLimitingPlugin.Periods.Select(p => "X-RateLimit-Limit-" + Capitalized(p))];
    private static readonly string[] RemainingHeaders = [.. RateLimitingPlugin.Periods.Select(p => "X-RateLimit-Remaining-" + Capitalized(p))];

    private readonly (int Period, long Limit)[] _limits;
    private readonly string _limitBy;
    private readonly string? _headerName;
    private readonly string? _path;
    private readonly bool _hideHeaders;
    private readonly int _errorCode;
    private readonly string _errorMessage;
    private readonly Guid _scopeRoute;
    private readonly Guid _scopeService;
    private readonly CounterPolicy _policy;

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
        // Counted per the instance's own scope: a service-wide instance counts across its routes, a global one across all.
        _scopeRoute = config.Route ?? Guid.Empty;
        _scopeService = config.Service ?? Guid.Empty;
        _policy = CounterPolicy.For("rate-limiting", config, setup, setup.Node.RateLimitCounters, ClusterTable);
    }

    private static string Capitalized(string period) => char.ToUpperInvariant(period[0]) + period[1..];

    public override async ValueTask AccessAsync(PluginRequest request)
    {
        var now = DateTimeOffset.UtcNow;
        var scope = new CounterScope(_scopeRoute, _scopeService, Identifier(request));
        var windows = new CounterWindow[_limits.Length];
        for (var i = 0; i < _limits.Length; i++)
        {
            var period = _limits[i].Period;
            var start = WindowStart(period, now);
            windows[i] = new CounterWindow(RateLimitingPlugin.Periods[period], start, WindowEnd(period, start));
        }
        // Counted first, in one round trip to a shared store; a refused request's count is taken back, so only
        // requests that passed count, as in Kong, and two requests racing for the last one cannot both pass.
        if (await _policy.AddAsync(request, scope, windows, 1) is not { } after)
            return;
        var before = new long[after.Length];
        for (var i = 0; i < after.Length; i++)
            before[i] = after[i] - 1;
        if (!Decide(request, before, now))
            await _policy.IncrementAsync(scope, windows, -1);
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
    public static long WindowStart(int period, DateTimeOffset now)
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

    public static long WindowEnd(int period, long start) => period switch
    {
        0 => start + 1,
        1 => start + 60,
        2 => start + 3600,
        3 => start + 86400,
        4 => DateTimeOffset.FromUnixTimeSeconds(start).AddMonths(1).ToUnixTimeSeconds(),
        _ => DateTimeOffset.FromUnixTimeSeconds(start).AddYears(1).ToUnixTimeSeconds(),
    };
}
