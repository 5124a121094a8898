namespace Gantry.Balancing;

/// <summary>
/// One upstream target as the balancer sees it. <see cref="Index"/> is its position in the list the
/// balancer was built from; health flags and connection counts are kept in arrays indexed by it.
/// </summary>
public sealed class BalancerTarget
{
    public const int MaxWeight = 65535;

    public string Address { get; }
    public string Host { get; }
    public int Port { get; }
    /// <summary>0 disables the target: it is kept so its index stays stable, but never picked.</summary>
    public int Weight { get; }
    public int Index { get; }

    internal BalancerTarget(string address, string host, int port, int weight, int index)
    {
        Address = address;
        Host = host;
        Port = port;
        Weight = weight;
        Index = index;
    }

    internal static BalancerTarget Create(string address, int weight, int index)
    {
        if (weight is < 0 or > MaxWeight)
            throw new BalancerConfigurationException(
                $"target '{address}' has weight {weight}; a weight must be between 0 and {MaxWeight}");
        // The port follows the last colon; an IPv6 host is bracketed so its own colons come before it.
        int colon = address.LastIndexOf(':');
        if (colon <= 0 || colon == address.Length - 1
            || !int.TryParse(address.AsSpan(colon + 1), System.Globalization.NumberStyles.None, null, out int port)
            || port is < 1 or > 65535
            || (address[0] == '[' && address[colon - 1] != ']'))
            throw new BalancerConfigurationException(
                $"target '{address}' is not host:port with a port between 1 and 65535");
        string host = address[0] == '[' ? address[1..(colon - 1)] : address[..colon];
        return new BalancerTarget(address, host, port, weight, index);
    }

    public override string ToString() => Address;
}
