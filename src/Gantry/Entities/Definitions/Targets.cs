using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Gantry.Entities.Schema;
using static Gantry.Entities.Definitions.CommonFields;

namespace Gantry.Entities.Definitions;

/// <summary>
/// Targets: the addresses an upstream balances over. Served only under /upstreams/{u}/targets; the address
/// is stored as host:port (port 8000 when omitted, IPv6 in brackets) so that one address is one target.
/// </summary>
public static class Targets
{
    public const int DefaultPort = 8000;

    public static EntitySchema Schema { get; } = new("targets",
    [
        Id(),
        CreatedAt(FieldKind.Number),
        UpdatedAt(FieldKind.Number),
        Foreign("upstream", "upstreams", required: true),
        new Field("target", FieldKind.String) { Required = true, Check = v => Parse(v.GetValue<string>()).Error },
        Integer("weight", 100, 0, 65535),
        Tags(),
    ])
    {
        Table = "targets",
        EndpointKey = "target",
        UniqueTogether = [["upstream", "target"]],
        ExposedOnlyNested = true,
        Normalize = target => target["target"] = Parse(target["target"]!.GetValue<string>()).Normalized,
    };

    /// <summary>Splits "host[:port]", "[v6]:port" or a bare IPv6 address; the normalized form always has a port.</summary>
    public static (string? Normalized, string? Error) Parse(string value)
    {
        string host;
        string? port = null;
        bool v6;
        if (value.StartsWith('['))
        {
            var close = value.IndexOf(']');
            if (close < 0)
                return (null, InvalidTarget);
            host = value[1..close];
            var rest = value[(close + 1)..];
            if (rest.Length > 0)
            {
                if (rest[0] != ':')
                    return (null, InvalidTarget);
                port = rest[1..];
            }
            if (!IPAddress.TryParse(host, out var address) || address.AddressFamily != AddressFamily.InterNetworkV6)
                return (null, InvalidTarget);
            v6 = true;
        }
        else if (value.Count(c => c == ':') > 1)
        {
            // More than one colon without brackets can only be a bare IPv6 address, which has no port.
            if (!IPAddress.TryParse(value, out var address) || address.AddressFamily != AddressFamily.InterNetworkV6)
                return (null, InvalidTarget);
            host = address.ToString();
            v6 = true;
        }
        else
        {
            var colon = value.IndexOf(':');
            host = colon < 0 ? value : value[..colon];
            port = colon < 0 ? null : value[(colon + 1)..];
            if (!IsHostName(host))
                return (null, InvalidTarget);
            v6 = false;
        }
        var number = DefaultPort;
        if (port is not null && (!int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out number) || number > 65535))
            return (null, InvalidTarget);
        return ((v6 ? $"[{host}]" : host) + ":" + number.ToString(CultureInfo.InvariantCulture), null);
    }

    /// <summary>Kong names neither the value nor the part at fault when a new target's address does not parse.</summary>
    private const string InvalidTarget = "Invalid target; not a valid hostname or ip address";
}
