using System.Net;
using Gantry.Entities.Records;

namespace Gantry.Routing;

/// <summary>
/// One element of a route's <c>sources</c> or <c>destinations</c>: an address or CIDR block, a port, or both.
/// Stream routes match connections on them; an HTTP or gRPC route may carry them too under the expressions
/// flavor (as Kong 3.9 allows there), and then a request must also come from (or reach) one of them.
/// </summary>
public sealed record NetworkEndpoint(IPNetwork? Network, int? Port)
{
    public static NetworkEndpoint From(RouteEndpointRecord record) => new(record.Ip is null ? null : NetworkOf(record.Ip), record.Port);

    private static IPNetwork NetworkOf(string ip)
    {
        if (ip.Contains('/'))
            return IPNetwork.Parse(ip);
        var address = IPAddress.Parse(ip).Unmapped();
        return new IPNetwork(address, address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128);
    }

    public bool Matches(IPAddress? address, int port) =>
        (Port is not { } wanted || wanted == port)
        && (Network is not { } network || address is not null && network.Contains(address.Unmapped()));

    /// <summary>Whether the address and port meet one of the endpoints; no list means no restriction.</summary>
    public static bool AnyMatches(IReadOnlyList<NetworkEndpoint>? endpoints, IPAddress? address, int port)
    {
        if (endpoints is null)
            return true;
        foreach (var endpoint in endpoints)
        {
            if (endpoint.Matches(address, port))
                return true;
        }
        return false;
    }
}

internal static class AddressForms
{
    /// <summary>A dual-stack listener reports IPv4 clients as <c>::ffff:a.b.c.d</c>; routes name them as IPv4.</summary>
    public static IPAddress Unmapped(this IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
}
