namespace Gantry.Balancing;

/// <summary>How a host and port are written toward an upstream: the URL prefix and the Host header.</summary>
public static class UpstreamAddress
{
    /// <summary>scheme://host:port, an IPv6 host in brackets.</summary>
    public static string Destination(string scheme, string host, int port) => $"{scheme}://{Bracketed(host)}:{port}";

    /// <summary>The host, with the port when it is not the scheme's default, an IPv6 host in brackets.</summary>
    public static string HostHeader(string scheme, string host, int port) =>
        (scheme == "https" ? port == 443 : port == 80) ? Bracketed(host) : $"{Bracketed(host)}:{port}";

    private static string Bracketed(string host) => host.Contains(':') ? $"[{host}]" : host;
}
