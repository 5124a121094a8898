namespace Gantry.Balancing;

/// <summary>The upstream <c>algorithm</c> values Gantry balances with.</summary>
public enum BalancerAlgorithm
{
    RoundRobin,
    ConsistentHashing,
    LeastConnections,
    Latency,
}
