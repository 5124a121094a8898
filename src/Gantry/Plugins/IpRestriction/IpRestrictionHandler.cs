using System.Net;
using Gantry.Plugins.Pipeline;

namespace Gantry.Plugins.IpRestriction;

/// <summary>Turns away client addresses in <c>deny</c>, then those outside <c>allow</c> when it is set.</summary>
public sealed class IpRestrictionHandler : PluginHandler
{
    private readonly IPNetwork[] _allow;
    private readonly IPNetwork[] _deny;
    private readonly int _status;
    private readonly string? _message;

    public IpRestrictionHandler(PluginConfig config)
    {
        _allow = Networks(config, "allow");
        _deny = Networks(config, "deny");
        _status = (int)config.Number("status", 403);
        _message = config.Text("message");
    }

    private static IPNetwork[] Networks(PluginConfig config, string name) =>
        [.. config.Strings(name, []).Select(Network)];

    private static IPNetwork Network(string entry)
    {
        if (entry.Contains('/'))
            return IPNetwork.Parse(entry);
        var address = IPAddress.Parse(entry);
        return new IPNetwork(address, address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128);
    }

    public override ValueTask AccessAsync(PluginRequest request)
    {
        var address = request.Http.Connection.RemoteIpAddress;
        if (address is { IsIPv4MappedToIPv6: true })
            address = address.MapToIPv4();
        var refused = address is null || Contains(_deny, address) || _allow.Length > 0 && !Contains(_allow, address);
        if (refused)
            request.Exit(_status, _message ?? $"IP address not allowed: {address}");
        return ValueTask.CompletedTask;
    }

    private static bool Contains(IPNetwork[] networks, IPAddress address)
    {
        foreach (var network in networks)
        {
            if (network.Contains(address))
                return true;
        }
        return false;
    }
}
