using Gantry.Entities.Records;

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

    /// <summary>Reads the stored <c>healthchecks</c> record, complete with the schema's defaults.</summary>
    public static HealthCheckSettings From(HealthchecksRecord checks)
    {
        var active = checks.Active;
        var passive = checks.Passive;
        var headers = new List<KeyValuePair<string, string[]>>();
        foreach (var (name, values) in active.Headers ?? new Dictionary<string, IReadOnlyList<string>>())
            headers.Add(new(name, values.ToArray()));
        return new HealthCheckSettings
        {
            ActiveType = active.Type,
            ActiveTimeout = TimeSpan.FromSeconds(active.Timeout),
            ActiveConcurrency = (int)Math.Clamp(active.Concurrency, 1, int.MaxValue),
            ActiveHttpPath = active.HttpPath,
            ActiveHttpsSni = active.HttpsSni,
            ActiveVerifyCertificate = active.HttpsVerifyCertificate,
            ActiveHeaders = headers,
            HealthyInterval = TimeSpan.FromSeconds(active.Healthy.Interval),
            ActiveHealthyStatuses = StatusSet.From(active.Healthy.HttpStatuses),
            ActiveSuccesses = active.Healthy.Successes,
            UnhealthyInterval = TimeSpan.FromSeconds(active.Unhealthy.Interval),
            ActiveUnhealthyStatuses = StatusSet.From(active.Unhealthy.HttpStatuses),
            ActiveTcpFailures = active.Unhealthy.TcpFailures,
            ActiveTimeouts = active.Unhealthy.Timeouts,
            ActiveHttpFailures = active.Unhealthy.HttpFailures,
            PassiveHealthyStatuses = StatusSet.From(passive.Healthy.HttpStatuses),
            PassiveUnhealthyStatuses = StatusSet.From(passive.Unhealthy.HttpStatuses),
            PassiveTcpFailures = passive.Unhealthy.TcpFailures,
            PassiveTimeouts = passive.Unhealthy.Timeouts,
            PassiveHttpFailures = passive.Unhealthy.HttpFailures,
            Threshold = checks.Threshold,
        };
    }
}

/// <summary>A set of HTTP statuses (100 to 999) looked up by index, without hashing or allocating.</summary>
public sealed class StatusSet
{
    public static StatusSet Empty { get; } = new(new bool[1000]);

    private readonly bool[] _statuses;

    private StatusSet(bool[] statuses) => _statuses = statuses;

    public bool Contains(int status) => (uint)status < (uint)_statuses.Length && _statuses[status];

    public static StatusSet From(IReadOnlyList<int> statuses)
    {
        var set = new bool[1000];
        foreach (var code in statuses)
        {
            if (code is >= 0 and < 1000)
                set[code] = true;
        }
        return new StatusSet(set);
    }
}
