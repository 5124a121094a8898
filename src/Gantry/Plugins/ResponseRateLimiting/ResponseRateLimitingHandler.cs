using System.Globalization;
using Gantry.Plugins.Pipeline;
using Gantry.Plugins.RateLimiting;
using Microsoft.Extensions.Primitives;

namespace Gantry.Plugins.ResponseRateLimiting;

/// <summary>
/// Kong's response-ratelimiting. Access reads every limit's windows and tells the upstream what is left
/// (<c>X-RateLimit-Remaining-&lt;name&gt;</c>, the tightest window), refusing with 429 at once when
/// <c>block_on_first_violation</c> and a limit is used up. The upstream spends limits by answering with
/// <c>header_name</c> (<c>name=n, other=m</c>), which the client never sees: the response carries
/// <c>X-RateLimit-Limit/Remaining-&lt;name&gt;-&lt;period&gt;</c> instead, becomes a bodiless 429 when
/// it spends a limit already used up, and otherwise is counted once its body has been sent. The counts
/// live in the same stores as rate-limiting's (local, redis, cluster).
/// </summary>
public sealed class ResponseRateLimitingHandler : PluginHandler
{
    private readonly Limit[] _limits;
    private readonly string _headerName;
    private readonly string _limitBy;
    private readonly bool _blockOnFirstViolation;
    private readonly bool _hideHeaders;
    private readonly Guid _scopeRoute;
    private readonly Guid _scopeService;
    private readonly CounterPolicy _policy;

    /// <summary>A named limit: its periods (indexes into Periods) with their limits, and the header names.</summary>
    private sealed record Limit(string Name, (int Period, long Value)[] Periods, string UpstreamHeader, string[] LimitHeaders, string[] RemainingHeaders);

    /// <summary>What access found for one request, for its header filter and the count after the response.</summary>
    private sealed class Usage(CounterScope scope, CounterWindow[][] windows, long[][] remaining)
    {
        public CounterScope Scope { get; } = scope;
        public CounterWindow[][] Windows { get; } = windows;
        public long[][] Remaining { get; } = remaining;
    }

    public ResponseRateLimitingHandler(PluginConfig config, PluginSetup setup)
    {
        var periods = RateLimitingPlugin.Periods;
        _limits = [.. (config.Values["limits"]?.AsObject() ?? []).Select(entry =>
        {
            var set = periods.Select((p, i) => (i, entry.Value?[p])).Where(p => p.Item2 is not null)
                .Select(p => (p.i, (long)Entities.Schema.SchemaValidator.ToDouble(p.Item2!))).ToArray();
            return new Limit(entry.Key, set, "X-RateLimit-Remaining-" + entry.Key,
                [.. set.Select(p => $"X-RateLimit-Limit-{entry.Key}-{periods[p.i]}")],
                [.. set.Select(p => $"X-RateLimit-Remaining-{entry.Key}-{periods[p.i]}")]);
        })];
        _headerName = config.Text("header_name") ?? "x-kong-limit";
        _limitBy = config.Text("limit_by") ?? "consumer";
        _blockOnFirstViolation = config.Flag("block_on_first_violation", false);
        _hideHeaders = config.Flag("hide_client_headers", false);
        _scopeRoute = config.Route ?? Guid.Empty;
        _scopeService = config.Service ?? Guid.Empty;
        _policy = CounterPolicy.For("response-ratelimiting", config, setup, setup.Node.ResponseRateLimitCounters, ResponseRateLimitingMigrations.Table);
    }

    public override async ValueTask AccessAsync(PluginRequest request)
    {
        if (_limits.Length == 0)
            return;
        var now = DateTimeOffset.UtcNow;
        var scope = new CounterScope(_scopeRoute, _scopeService, Identifier(request));
        var windows = new CounterWindow[_limits.Length][];
        var all = new List<CounterWindow>();
        for (var l = 0; l < _limits.Length; l++)
        {
            var limit = _limits[l];
            windows[l] = new CounterWindow[limit.Periods.Length];
            for (var p = 0; p < limit.Periods.Length; p++)
            {
                var period = limit.Periods[p].Period;
                var start = RateLimitingHandler.WindowStart(period, now);
                windows[l][p] = new CounterWindow($"{limit.Name}_{RateLimitingPlugin.Periods[period]}", start, RateLimitingHandler.WindowEnd(period, start));
                all.Add(windows[l][p]);
            }
        }
        if (await _policy.GetAsync(request, scope, [.. all]) is not { } counts)
            return;
        var remaining = new long[_limits.Length][];
        var next = 0;
        for (var l = 0; l < _limits.Length; l++)
        {
            var limit = _limits[l];
            remaining[l] = new long[limit.Periods.Length];
            var tightest = long.MaxValue;
            for (var p = 0; p < limit.Periods.Length; p++)
            {
                remaining[l][p] = limit.Periods[p].Value - counts[next++];
                // Kong blocks on exactly zero; an upstream that spent more than was left overshoots below it, which blocks too here.
                if (_blockOnFirstViolation && remaining[l][p] <= 0)
                {
                    request.Exit(429, $"API rate limit exceeded for '{limit.Name}'");
                    return;
                }
                tightest = Math.Min(tightest, remaining[l][p]);
            }
            request.Http.Request.Headers[limit.UpstreamHeader] = tightest.ToString(CultureInfo.InvariantCulture);
        }
        request.Http.Items[this] = new Usage(scope, windows, remaining);
    }

    public override void HeaderFilter(PluginRequest request)
    {
        var response = request.Http.Response;
        var spent = Increments(response.Headers[_headerName]);
        response.Headers.Remove(_headerName);
        if (request.UpstreamReceived == 0 || request.Http.Items[this] is not Usage usage)
            return;
        var stop = false;
        for (var l = 0; l < _limits.Length; l++)
        {
            var limit = _limits[l];
            for (var p = 0; p < limit.Periods.Length; p++)
            {
                if (!_hideHeaders)
                {
                    response.Headers[limit.LimitHeaders[p]] = limit.Periods[p].Value.ToString(CultureInfo.InvariantCulture);
                    response.Headers[limit.RemainingHeaders[p]] = Math.Max(0, usage.Remaining[l][p] - spent[l]).ToString(CultureInfo.InvariantCulture);
                }
                if (spent[l] > 0 && usage.Remaining[l][p] <= 0)
                    stop = true;
            }
        }
        if (stop)
        {
            // The upstream's answer would spend a limit already used up: the client gets a bodiless 429
            // instead, and nothing is counted, as Kong's header filter does.
            response.StatusCode = 429;
            response.ContentLength = 0;
            response.Headers.ContentType = StringValues.Empty;
            var body = response.Body;
            response.Body = Stream.Null;
            request.OnResponseEnd(_ =>
            {
                response.Body = body;
                return ValueTask.CompletedTask;
            });
            return;
        }
        request.OnResponseEnd(_ => CountAsync(usage, spent));
    }

    /// <summary>Adds what the upstream spent to every window of each limit it named.</summary>
    private async ValueTask CountAsync(Usage usage, long[] spent)
    {
        for (var l = 0; l < _limits.Length; l++)
        {
            if (spent[l] > 0)
                await _policy.IncrementAsync(usage.Scope, usage.Windows[l], spent[l]);
        }
    }

    /// <summary>
    /// The upstream's <c>name=n</c> pairs, comma-separated, in one header or several, per limit: names this
    /// instance does not have and values that are not numbers are ignored.
    /// </summary>
    private long[] Increments(StringValues header)
    {
        var spent = new long[_limits.Length];
        foreach (var value in header)
        {
            foreach (var pair in (value ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                var parts = pair.Split('=', StringSplitOptions.TrimEntries);
                if (parts.Length != 2 || !long.TryParse(parts[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var amount))
                    continue;
                for (var l = 0; l < _limits.Length; l++)
                {
                    if (_limits[l].Name == parts[0])
                        spent[l] = amount;
                }
            }
        }
        return spent;
    }

    /// <summary>Whom the limits count: the consumer or credential when limit_by names it and there is one, else the client's address.</summary>
    private string Identifier(PluginRequest request)
    {
        var identifier = _limitBy switch
        {
            "consumer" => (request.Consumer?.Id ?? request.CredentialId)?.ToString(),
            "credential" => request.CredentialId?.ToString(),
            _ => null,
        };
        return identifier ?? request.Http.Connection.RemoteIpAddress?.ToString() ?? "";
    }
}
