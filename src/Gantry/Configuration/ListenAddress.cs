using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace Gantry.Configuration;

/// <summary>
/// One entry of a <c>*_listen</c> property, in Kong's syntax:
/// <c>host:port [ssl] [http2] [reuseport] [backlog=N] [proxy_protocol] [deferred] [bind] [ipv6only=on|off] [so_keepalive=...]</c>.
/// IPv6 hosts are written in brackets; <c>*</c> means any IPv4 address.
/// </summary>
public sealed partial record ListenAddress
{
    private const string Options = "ssl, http2, reuseport, backlog=N, proxy_protocol, deferred, bind, ipv6only=on|off, so_keepalive=on|off|idle:interval:count";

    /// <summary>Host name or IP address, without brackets; <c>*</c> is normalised to <c>0.0.0.0</c>.</summary>
    public required string Host { get; init; }

    public required int Port { get; init; }

    public bool Ssl { get; init; }
    public bool Http2 { get; init; }
    public bool ReusePort { get; init; }
    public bool ProxyProtocol { get; init; }
    public bool Deferred { get; init; }
    public bool Bind { get; init; }

    /// <summary>Length of the pending-connection queue, or null for the platform default.</summary>
    public int? Backlog { get; init; }

    /// <summary>Whether a wildcard IPv6 socket refuses IPv4 clients, or null for the platform default.</summary>
    public bool? Ipv6Only { get; init; }

    /// <summary>The <c>so_keepalive</c> setting as written (<c>on</c>, <c>off</c> or <c>idle:interval:count</c>), or null.</summary>
    public string? SoKeepalive { get; init; }

    /// <summary>The parsed address, or null when <see cref="Host"/> is a host name.</summary>
    public IPAddress? Address => IPAddress.TryParse(Host, out var ip) ? ip : null;

    /// <summary>True for <c>0.0.0.0</c> and <c>::</c>, which accept connections on every interface.</summary>
    public bool IsAnyAddress => Address is { } ip && (ip.Equals(IPAddress.Any) || ip.Equals(IPAddress.IPv6Any));

    /// <summary>The canonical form, which <see cref="Parse"/> reads back to an equal value.</summary>
    public override string ToString()
    {
        var text = new StringBuilder();
        text.Append(Host.Contains(':') ? $"[{Host}]" : Host).Append(':').Append(Port.ToString(CultureInfo.InvariantCulture));
        if (Ssl) text.Append(" ssl");
        if (Http2) text.Append(" http2");
        if (ReusePort) text.Append(" reuseport");
        if (Backlog is { } backlog) text.Append(" backlog=").Append(backlog.ToString(CultureInfo.InvariantCulture));
        if (ProxyProtocol) text.Append(" proxy_protocol");
        if (Deferred) text.Append(" deferred");
        if (Bind) text.Append(" bind");
        if (Ipv6Only is { } v6) text.Append(" ipv6only=").Append(v6 ? "on" : "off");
        if (SoKeepalive is { } keepalive) text.Append(" so_keepalive=").Append(keepalive);
        return text.ToString();
    }

    /// <summary>Parses one entry; throws <see cref="FormatException"/> naming the entry and the reason.</summary>
    public static ListenAddress Parse(string entry) =>
        TryParse(entry, out var address, out var error) ? address : throw new FormatException(error);

    /// <summary>Parses one entry; on failure <paramref name="error"/> reads "invalid listen address '...': reason".</summary>
    public static bool TryParse(string entry, [NotNullWhen(true)] out ListenAddress? address, [NotNullWhen(false)] out string? error)
    {
        address = null;
        var reason = TryParseCore(entry.Trim(), out address);
        error = reason is null ? null : $"invalid listen address '{entry.Trim()}': {reason}";
        return reason is null;
    }

    /// <summary>
    /// Parses a comma-separated list; <c>off</c> gives an empty list. Throws <see cref="FormatException"/>
    /// whose message lists every bad entry, one per line.
    /// </summary>
    public static IReadOnlyList<ListenAddress> ParseList(string value)
    {
        var errors = new List<string>();
        var list = ParseList(value, errors);
        return errors.Count == 0 ? list : throw new FormatException(string.Join(Environment.NewLine, errors));
    }

    internal static IReadOnlyList<ListenAddress> ParseList(string value, List<string> errors)
    {
        var trimmed = value.Trim();
        if (trimmed == "off")
        {
            return [];
        }

        var result = new List<ListenAddress>();
        foreach (var raw in trimmed.Split(','))
        {
            var entry = raw.Trim();
            if (entry.Length == 0)
            {
                errors.Add($"empty entry in listen list '{trimmed}'");
            }
            else if (entry == "off")
            {
                errors.Add($"'off' must be the only value, got '{trimmed}'");
            }
            else if (!TryParse(entry, out var address, out var error))
            {
                errors.Add(error);
            }
            else if (result.Find(a => a.Host == address.Host && a.Port == address.Port) is { } previous)
            {
                errors.Add($"listen address '{previous.Host}:{previous.Port}' appears more than once");
            }
            else
            {
                result.Add(address);
            }
        }
        return result;
    }

    private static string? TryParseCore(string entry, out ListenAddress? address)
    {
        address = null;
        var tokens = entry.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (tokens.Length == 0)
        {
            return "the entry is empty";
        }

        if (SplitHostPort(tokens[0], out var host, out var portText) is { } hostPortError)
        {
            return hostPortError;
        }
        if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
        {
            return "port must be between 1 and 65535";
        }

        var result = new ListenAddress { Host = host, Port = port };
        foreach (var option in tokens.AsSpan(1))
        {
            var (name, argument) = option.IndexOf('=') is var eq and >= 0 ? (option[..eq], option[(eq + 1)..]) : (option, null);
            switch (name)
            {
                case "ssl" when argument is null: result = result with { Ssl = true }; break;
                case "http2" when argument is null: result = result with { Http2 = true }; break;
                case "reuseport" when argument is null: result = result with { ReusePort = true }; break;
                case "proxy_protocol" when argument is null: result = result with { ProxyProtocol = true }; break;
                case "deferred" when argument is null: result = result with { Deferred = true }; break;
                case "bind" when argument is null: result = result with { Bind = true }; break;
                case "backlog":
                    if (!int.TryParse(argument, NumberStyles.None, CultureInfo.InvariantCulture, out var backlog) || backlog < 1)
                    {
                        return $"backlog must be a positive integer, got '{option}'";
                    }
                    result = result with { Backlog = backlog };
                    break;
                case "ipv6only":
                    if (argument is not ("on" or "off"))
                    {
                        return $"ipv6only must be on or off, got '{option}'";
                    }
                    result = result with { Ipv6Only = argument == "on" };
                    break;
                case "so_keepalive":
                    if (argument is null || !KeepaliveSyntax().IsMatch(argument))
                    {
                        return $"so_keepalive must be on, off or idle:interval:count (e.g. 30m::10), got '{option}'";
                    }
                    result = result with { SoKeepalive = argument };
                    break;
                default:
                    return $"unknown option '{option}' (accepted: {Options})";
            }
        }

        address = result;
        return null;
    }

    private static string? SplitHostPort(string hostPort, out string host, out string port)
    {
        host = port = "";
        if (hostPort.StartsWith('['))
        {
            var close = hostPort.IndexOf(']');
            if (close < 0 || close + 1 >= hostPort.Length || hostPort[close + 1] != ':')
            {
                return "expected [ipv6]:port";
            }
            host = hostPort[1..close];
            port = hostPort[(close + 2)..];
            return IPAddress.TryParse(host, out var ip) && ip.AddressFamily == AddressFamily.InterNetworkV6
                ? null
                : $"'{host}' is not an IPv6 address";
        }

        var colon = hostPort.IndexOf(':');
        if (colon < 0)
        {
            return "missing port (expected host:port)";
        }
        if (hostPort.IndexOf(':', colon + 1) >= 0)
        {
            return "an IPv6 address must be written in brackets, as in [::1]:8000";
        }
        host = hostPort[..colon];
        port = hostPort[(colon + 1)..];
        if (host.Length == 0)
        {
            return "missing host (use 0.0.0.0 or * to listen on every interface)";
        }
        if (host == "*")
        {
            host = "0.0.0.0";
            return null;
        }
        if (DottedNumbers().IsMatch(host))
        {
            // Digits and dots can only be an IPv4 address; IPAddress.TryParse alone would accept "1.2" as 1.0.0.2.
            return host.Split('.').Length == 4 && IPAddress.TryParse(host, out _) ? null : $"'{host}' is not a valid IPv4 address";
        }
        return Uri.CheckHostName(host) == UriHostNameType.Dns ? null : $"'{host}' is not a valid host name";
    }

    [GeneratedRegex(@"^[0-9.]+$")]
    private static partial Regex DottedNumbers();

    [GeneratedRegex(@"^(on|off|([0-9]+[smhd]?)?:([0-9]+[smhd]?)?:([0-9]+)?)$")]
    private static partial Regex KeepaliveSyntax();
}
