using System.Globalization;

namespace Gantry.Clustering;

/// <summary>
/// The link's clocks: a data plane pings every 30 s, either side gives up after 45 s without a message,
/// and a data plane reconnects after a random 5 to 10 s (Kong's). Tests shorten them with the environment
/// variable <c>GANTRY_INTERNAL_CLUSTER_TIMINGS</c> (<c>ping=1,silence=3,reconnect_min=0.2,reconnect_max=0.5</c>,
/// seconds); it is not a configuration property and operators have no reason to set it.
/// </summary>
public sealed record ClusterTimings(TimeSpan Ping, TimeSpan Silence, TimeSpan ReconnectMin, TimeSpan ReconnectMax)
{
    public const string Variable = "GANTRY_INTERNAL_CLUSTER_TIMINGS";

    public static readonly ClusterTimings Default = new(TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(45), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(10));

    public static ClusterTimings FromEnvironment()
    {
        var timings = Default;
        foreach (var pair in (Environment.GetEnvironmentVariable(Variable) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = pair.Split('=', 2);
            if (parts.Length != 2 || !double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) || seconds <= 0)
                continue;
            var value = TimeSpan.FromSeconds(seconds);
            timings = parts[0] switch
            {
                "ping" => timings with { Ping = value },
                "silence" => timings with { Silence = value },
                "reconnect_min" => timings with { ReconnectMin = value },
                "reconnect_max" => timings with { ReconnectMax = value },
                _ => timings,
            };
        }
        return timings;
    }

    public TimeSpan ReconnectDelay() => ReconnectMin + (ReconnectMax - ReconnectMin) * Random.Shared.NextDouble();
}
