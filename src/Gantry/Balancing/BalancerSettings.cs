namespace Gantry.Balancing;

/// <summary>The upstream settings a balancer is built from.</summary>
public sealed record BalancerSettings
{
    /// <summary>The smallest continuum we accept: fewer points make the spread over targets visibly uneven.</summary>
    public const int MinSlots = 1000;
    public const int MaxSlots = 65536;

    public BalancerAlgorithm Algorithm { get; init; } = BalancerAlgorithm.RoundRobin;

    /// <summary>Number of points on the consistent-hashing continuum.</summary>
    public int Slots { get; init; } = 10000;

    /// <summary>
    /// Seeds the round-robin wheel shuffle. Fixed by default so that every node, and every rebuild
    /// of the same upstream, serves targets in the same order, which keeps tests and traces reproducible.
    /// </summary>
    public int Seed { get; init; }

    /// <summary>
    /// healthchecks.threshold: the percentage of the total weight that must be healthy, strictly more,
    /// for the balancer to pick at all; below it every request is refused as if no target were healthy.
    /// </summary>
    public double Threshold { get; init; }

    public static BalancerAlgorithm ParseAlgorithm(string value) => value switch
    {
        "round-robin" => BalancerAlgorithm.RoundRobin,
        "consistent-hashing" => BalancerAlgorithm.ConsistentHashing,
        "least-connections" => BalancerAlgorithm.LeastConnections,
        "latency" => BalancerAlgorithm.Latency,
        _ => throw new BalancerConfigurationException(
            $"algorithm '{value}' is not supported; use round-robin, consistent-hashing, least-connections or latency"),
    };
}
