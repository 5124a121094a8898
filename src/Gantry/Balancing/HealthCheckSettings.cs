using System.Text.Json.Nodes;
using Gantry.Entities.Schema;

namespace Gantry.Balancing;

/// <summary>
/// An upstream's <c>healthchecks</c>, read once per rebuild into plain values. A zero interval or
/// counter disables what it governs, as in Kong's schema.
/// </summary>
public sealed record HealthCheckSettings
{
    public static HealthCheckSettings Off { get; } = new();

    public string ActiveType { get; init; } = "http";
    public TimeSpan ActiveTimeout { get; init; } = TimeSpan.FromSeconds(1);
    public int ActiveConcurrency { get; init; } = 10;
    public string ActiveHttpPath { get; init; } = "/";
    public string? ActiveHttpsSni { get; init; }
    public bool ActiveVerifyCertificate { get; init; } = true;
    public IReadOnlyList<KeyValuePair<string, string[]>> ActiveHeaders { get; init; } = [];
    public TimeSpan HealthyInterval { get; init; }
    public StatusSet ActiveHealthyStatuses { get; init; } = StatusSet.Empty;
    public int ActiveSuccesses { get; init; }
    public TimeSpan UnhealthyInterval { get; init; }
    public StatusSet ActiveUnhealthyStatuses { get; init; } = StatusSet.Empty;
    public int ActiveTcpFailures { get; init; }
    public int ActiveTimeouts { get; init; }
    public int ActiveHttpFailures { get; init; }

    public StatusSet PassiveHealthyStatuses { get; init; } = StatusSet.Empty;
    public StatusSet PassiveUnhealthyStatuses { get; init; } = StatusSet.Empty;
    public int PassiveTcpFailures { get; init; }
    public int PassiveTimeouts { get; init; }
    public int PassiveHttpFailures { get; init; }

    public double Threshold { get; init; }

    /// <summary>Probes run when either interval is set.</summary>
    public bool ActiveEnabled => HealthyInterval > TimeSpan.Zero || UnhealthyInterval > TimeSpan.Zero;

    /// <summary>Proxied traffic counts when one of its failure counters is set (passive checks never mark up).</summary>
    public bool PassiveEnabled => PassiveTcpFailures > 0 || PassiveTimeouts > 0 || PassiveHttpFailures > 0;

    /// <summary>Kong reports HEALTHCHECKS_OFF for an upstream with neither kind of check.</summary>
    public bool Enabled => ActiveEnabled || PassiveEnabled;

    /// <summary>Reads the stored <c>healthchecks</c> record; absent parts keep the schema's defaults.</summary>
    public static HealthCheckSettings From(JsonNode? healthchecks)
    {
        if (healthchecks is not JsonObject checks)
            return Off;
        var active = checks["active"] as JsonObject;
        var passive = checks["passive"] as JsonObject;
        var headers = new List<KeyValuePair<string, string[]>>();
        if (active?["headers"] is JsonObject map)
        {
            foreach (var (name, values) in map)
                headers.Add(new(name, values is JsonArray list ? list.Select(v => v!.GetValue<string>()).ToArray() : []));
        }
        return new HealthCheckSettings
        {
            ActiveType = Text(active, "type") ?? "http",
            ActiveTimeout = Seconds(active, "timeout", 1),
            ActiveConcurrency = Math.Max(1, Int(active, "concurrency", 10)),
            ActiveHttpPath = Text(active, "http_path") ?? "/",
            ActiveHttpsSni = Text(active, "https_sni"),
            ActiveVerifyCertificate = active?["https_verify_certificate"]?.GetValue<bool>() ?? true,
            ActiveHeaders = headers,
            HealthyInterval = Seconds(active?["healthy"], "interval", 0),
            ActiveHealthyStatuses = StatusSet.From(active?["healthy"]?["http_statuses"]),
            ActiveSuccesses = Int(active?["healthy"], "successes", 0),
            UnhealthyInterval = Seconds(active?["unhealthy"], "interval", 0),
            ActiveUnhealthyStatuses = StatusSet.From(active?["unhealthy"]?["http_statuses"]),
            ActiveTcpFailures = Int(active?["unhealthy"], "tcp_failures", 0),
            ActiveTimeouts = Int(active?["unhealthy"], "timeouts", 0),
            ActiveHttpFailures = Int(active?["unhealthy"], "http_failures", 0),
            PassiveHealthyStatuses = StatusSet.From(passive?["healthy"]?["http_statuses"]),
            PassiveUnhealthyStatuses = StatusSet.From(passive?["unhealthy"]?["http_statuses"]),
            PassiveTcpFailures = Int(passive?["unhealthy"], "tcp_failures", 0),
            PassiveTimeouts = Int(passive?["unhealthy"], "timeouts", 0),
            PassiveHttpFailures = Int(passive?["unhealthy"], "http_failures", 0),
            Threshold = checks["threshold"] is { } threshold ? SchemaValidator.ToDouble(threshold) : 0,
        };
    }

    private static string? Text(JsonNode? node, string name) => node?[name] is JsonValue v && v.TryGetValue(out string? s) ? s : null;

    private static int Int(JsonNode? node, string name, int fallback) =>
        node?[name] is { } value ? (int)Math.Min(int.MaxValue, SchemaValidator.ToDouble(value)) : fallback;

    private static TimeSpan Seconds(JsonNode? node, string name, double fallback) =>
        TimeSpan.FromSeconds(node?[name] is { } value ? SchemaValidator.ToDouble(value) : fallback);
}

/// <summary>A set of HTTP statuses (100 to 999) looked up by index, without hashing or allocating.</summary>
public sealed class StatusSet
{
    public static StatusSet Empty { get; } = new(new bool[1000]);

    private readonly bool[] _statuses;

    private StatusSet(bool[] statuses) => _statuses = statuses;

    public bool Contains(int status) => (uint)status < (uint)_statuses.Length && _statuses[status];

    public static StatusSet From(JsonNode? list)
    {
        if (list is not JsonArray statuses)
            return Empty;
        var set = new bool[1000];
        foreach (var status in statuses)
        {
            if (status is not null && (int)SchemaValidator.ToDouble(status) is var code and >= 0 and < 1000)
                set[code] = true;
        }
        return new StatusSet(set);
    }
}
