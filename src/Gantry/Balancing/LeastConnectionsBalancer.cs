namespace Gantry.Balancing;

/// <summary>Picks the healthy target with the lowest (active + 1) / weight.</summary>
public sealed class LeastConnectionsBalancer : LowestScoreBalancer
{
    internal LeastConnectionsBalancer(BalancerTarget[] targets, double threshold) : base(targets, threshold)
    {
    }

    public override BalancerAlgorithm Algorithm => BalancerAlgorithm.LeastConnections;

    // Division is correctly rounded, so two equal ratios give equal doubles and stay a tie.
    private protected override double Score(int index, int active, int weight) => (active + 1.0) / weight;
}
