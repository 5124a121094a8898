namespace Gantry.Balancing;

/// <summary>An upstream whose targets or settings cannot be built into a balancer; the message names the offending value.</summary>
public sealed class BalancerConfigurationException(string message) : Exception(message);
