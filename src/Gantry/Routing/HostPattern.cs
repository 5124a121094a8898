namespace Gantry.Routing;

/// <summary>One entry of a route's <c>hosts</c>: exact, <c>*.suffix</c> or <c>prefix.*</c>, optionally with a port.</summary>
internal sealed class HostPattern
{
    public enum Kind { Exact, SuffixWildcard, PrefixWildcard }

    private HostPattern(Kind kind, string text, int port)
    {
        PatternKind = kind;
        Text = text;
        Port = port;
    }

    public Kind PatternKind { get; }

    /// <summary>The exact host, the suffix including its leading dot, or the prefix including its trailing dot.</summary>
    public string Text { get; }

    /// <summary>The required port, or -1 when any port is accepted.</summary>
    public int Port { get; }

    public static HostPattern Parse(string value, RouteDefinition route)
    {
        var host = SplitPort(value.AsSpan(), out var port);
        if (port == -2 || host.IsEmpty)
            throw new RouterConfigurationException($"{route.Describe()}: host '{value}' is not a host name with an optional numeric port.");

        var text = host.ToString().ToLowerInvariant();
        if (text.StartsWith("*.", StringComparison.Ordinal) && text.IndexOf('*', 1) < 0)
            return new HostPattern(Kind.SuffixWildcard, text[1..], port);
        if (text.EndsWith(".*", StringComparison.Ordinal) && text.IndexOf('*') == text.Length - 1)
            return new HostPattern(Kind.PrefixWildcard, text[..^1], port);
        if (text.Contains('*'))
            throw new RouterConfigurationException($"{route.Describe()}: host '{value}' may carry one wildcard, as its first or its last label ('*.example.com' or 'example.*').");
        return new HostPattern(Kind.Exact, text, port);
    }

    public bool Matches(ReadOnlySpan<char> host, int port)
    {
        if (Port >= 0 && Port != port)
            return false;
        return PatternKind switch
        {
            Kind.Exact => host.Equals(Text, StringComparison.OrdinalIgnoreCase),
            // At least one label must stand in for the '*', so the host is strictly longer.
            Kind.SuffixWildcard => host.Length > Text.Length && host.EndsWith(Text, StringComparison.OrdinalIgnoreCase),
            _ => host.Length > Text.Length && host.StartsWith(Text, StringComparison.OrdinalIgnoreCase),
        };
    }

    /// <summary>
    /// Splits "host[:port]" (IPv6 literals in brackets). The port is -1 when absent and -2
    /// when present but not a number in 0..65535.
    /// </summary>
    public static ReadOnlySpan<char> SplitPort(ReadOnlySpan<char> value, out int port)
    {
        port = -1;
        int colon;
        if (value.Length > 0 && value[0] == '[')
        {
            var close = value.IndexOf(']');
            if (close < 0)
                return value;
            colon = close + 1 < value.Length && value[close + 1] == ':' ? close + 1 : -1;
        }
        else
        {
            colon = value.LastIndexOf(':');
            // More than one colon without brackets is a bare IPv6 address, not host:port.
            if (colon >= 0 && value[..colon].Contains(':'))
                colon = -1;
        }
        if (colon < 0)
            return value;
        var portText = value[(colon + 1)..];
        if (portText.IsEmpty || portText.Length > 5 || !int.TryParse(portText, System.Globalization.NumberStyles.None, null, out port) || port > 65535)
            port = -2;
        return value[..colon];
    }
}
