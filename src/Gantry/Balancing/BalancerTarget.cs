namespace Gantry.Balancing;

/// <summary>
/// One balancer entry: an address a target resolved to (the target itself when its host is an IP).
/// <see cref="Index"/> is its position in the list the balancer was built from; health flags and
/// connection counts are kept in arrays indexed by it.
/// </summary>
public sealed class BalancerTarget
{
    public const int MaxWeight = 65535;

    private readonly string _httpDestination;
    private readonly string _httpsDestination;
    private readonly string _httpHostHeader;
    private readonly string _httpsHostHeader;

    /// <summary>The entry's own address, ip:port (or host:port as configured when it was not resolved); unique in its balancer.</summary>
    public string Address { get; }
    /// <summary>The host connections go to: the resolved IP.</summary>
    public string Host { get; }
    public int Port { get; }
    /// <summary>The target as configured (host:port); several entries share it when a name resolves to several addresses.</summary>
    public string Target { get; }
    /// <summary>The configured host name, which the upstream sees in Host when the upstream sets no host_header.</summary>
    public string HostName { get; }
    /// <summary>0 disables the target: it is kept so its index stays stable, but never picked.</summary>
    public int Weight { get; }
    public int Index { get; }

    private BalancerTarget(string address, string host, int port, string target, string hostName, int weight, int index)
    {
        Address = address;
        Host = host;
        Port = port;
        Target = target;
        HostName = hostName;
        Weight = weight;
        Index = index;
        // Built once here so that a proxied request concatenates nothing to reach the entry.
        _httpDestination = UpstreamAddress.Destination("http", host, port);
        _httpsDestination = UpstreamAddress.Destination("https", host, port);
        _httpHostHeader = UpstreamAddress.HostHeader("http", hostName, port);
        _httpsHostHeader = UpstreamAddress.HostHeader("https", hostName, port);
    }

    /// <summary>scheme://ip:port, the prefix the upstream path is appended to.</summary>
    public string Destination(string scheme) => scheme == "https" ? _httpsDestination : _httpDestination;

    /// <summary>The configured host name, with the port when it is not the scheme's default.</summary>
    public string HostHeader(string scheme) => scheme == "https" ? _httpsHostHeader : _httpHostHeader;

    internal static BalancerTarget Create(BalancerEntry entry, int index)
    {
        if (entry.Weight is < 0 or > MaxWeight)
            throw new BalancerConfigurationException(
                $"target '{entry.Target}' has weight {entry.Weight}; a weight must be between 0 and {MaxWeight}");
        var (host, port) = Split(entry.Address);
        var (hostName, _) = Split(entry.Target);
        return new BalancerTarget(entry.Address, host, port, entry.Target, hostName, entry.Weight, index);
    }

    /// <summary>Splits host:port or [v6]:port; the message names the address and what is wrong with it.</summary>
    public static (string Host, int Port) Split(string address)
    {
        // The port follows the last colon; an IPv6 host is bracketed so its own colons come before it.
        int colon = address.LastIndexOf(':');
        if (colon <= 0 || colon == address.Length - 1
            || !int.TryParse(address.AsSpan(colon + 1), System.Globalization.NumberStyles.None, null, out int port)
            || port is < 1 or > 65535
            || (address[0] == '[' && address[colon - 1] != ']'))
            throw new BalancerConfigurationException(
                $"target '{address}' is not host:port with a port between 1 and 65535");
        return (address[0] == '[' ? address[1..(colon - 1)] : address[..colon], port);
    }

    public override string ToString() => Address;
}

/// <summary>What a balancer entry is built from: the configured target, the address it resolved to, its weight.</summary>
public readonly record struct BalancerEntry(string Target, string Address, int Weight);
