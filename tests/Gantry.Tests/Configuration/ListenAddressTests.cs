using System.Net;
using Gantry.Configuration;

namespace Gantry.Tests.Configuration;

public sealed class ListenAddressTests
{
    [Fact]
    public void Parses_host_port_and_every_option()
    {
        var address = ListenAddress.Parse("0.0.0.0:8443 ssl http2 reuseport backlog=16384 proxy_protocol deferred bind ipv6only=off so_keepalive=30m::10");

        Assert.Equal("0.0.0.0", address.Host);
        Assert.Equal(8443, address.Port);
        Assert.True(address.Ssl);
        Assert.True(address.Http2);
        Assert.True(address.ReusePort);
        Assert.Equal(16384, address.Backlog);
        Assert.True(address.ProxyProtocol);
        Assert.True(address.Deferred);
        Assert.True(address.Bind);
        Assert.False(address.Ipv6Only);
        Assert.Equal("30m::10", address.SoKeepalive);
        Assert.True(address.IsAnyAddress);
    }

    [Fact]
    public void Options_default_to_off()
    {
        var address = ListenAddress.Parse("127.0.0.1:8001");

        Assert.Equal(new ListenAddress { Host = "127.0.0.1", Port = 8001 }, address);
        Assert.False(address.IsAnyAddress);
        Assert.Equal(IPAddress.Loopback, address.Address);
    }

    [Fact]
    public void Star_means_any_ipv4_address()
    {
        var address = ListenAddress.Parse("*:8000");

        Assert.Equal("0.0.0.0", address.Host);
        Assert.True(address.IsAnyAddress);
    }

    [Theory]
    [InlineData("[::1]:8001", "::1", false)]
    [InlineData("[::]:8000 ssl", "::", true)]
    [InlineData("[fe80::1ff:fe23:4567:890a]:9000", "fe80::1ff:fe23:4567:890a", false)]
    public void Ipv6_addresses_in_brackets(string entry, string host, bool any)
    {
        var address = ListenAddress.Parse(entry);

        Assert.Equal(host, address.Host);
        Assert.Equal(any, address.IsAnyAddress);
        Assert.Equal(System.Net.Sockets.AddressFamily.InterNetworkV6, address.Address!.AddressFamily);
    }

    [Fact]
    public void Host_names_are_accepted()
    {
        var address = ListenAddress.Parse("gateway.internal:8000");

        Assert.Equal("gateway.internal", address.Host);
        Assert.Null(address.Address);
        Assert.False(address.IsAnyAddress);
    }

    [Theory]
    [InlineData("0.0.0.0:8000")]
    [InlineData("[::1]:8444 ssl http2")]
    [InlineData("example.com:80 reuseport backlog=511 ipv6only=on so_keepalive=on")]
    public void ToString_round_trips(string entry)
    {
        var address = ListenAddress.Parse(entry);

        Assert.Equal(entry, address.ToString());
        Assert.Equal(address, ListenAddress.Parse(address.ToString()));
    }

    [Theory]
    [InlineData("127.0.0.1:99999", "port must be between 1 and 65535")]
    [InlineData("127.0.0.1:0", "port must be between 1 and 65535")]
    [InlineData("127.0.0.1:-1", "port must be between 1 and 65535")]
    [InlineData("127.0.0.1:http", "port must be between 1 and 65535")]
    [InlineData("127.0.0.1:", "port must be between 1 and 65535")]
    [InlineData("127.0.0.1", "missing port")]
    [InlineData(":8000", "missing host")]
    [InlineData("::1:8000", "an IPv6 address must be written in brackets")]
    [InlineData("[::1]", "expected [ipv6]:port")]
    [InlineData("[::1]8000", "expected [ipv6]:port")]
    [InlineData("[127.0.0.1]:8000", "'127.0.0.1' is not an IPv6 address")]
    [InlineData("[zz::1]:8000", "'zz::1' is not an IPv6 address")]
    [InlineData("256.1.1.1:80", "'256.1.1.1' is not a valid IPv4 address")]
    [InlineData("10.1:80", "'10.1' is not a valid IPv4 address")]
    [InlineData("bad_host!:80", "'bad_host!' is not a valid host name")]
    [InlineData("0.0.0.0:8000 tls", "unknown option 'tls'")]
    [InlineData("0.0.0.0:8000 SSL", "unknown option 'SSL'")]
    [InlineData("0.0.0.0:8000 ssl=on", "unknown option 'ssl=on'")]
    [InlineData("0.0.0.0:8000 backlog=", "backlog must be a positive integer")]
    [InlineData("0.0.0.0:8000 backlog=0", "backlog must be a positive integer")]
    [InlineData("0.0.0.0:8000 backlog=lots", "backlog must be a positive integer")]
    [InlineData("0.0.0.0:8000 ipv6only=yes", "ipv6only must be on or off")]
    [InlineData("0.0.0.0:8000 so_keepalive=maybe", "so_keepalive must be on, off or idle:interval:count")]
    [InlineData("0.0.0.0:8000 so_keepalive", "so_keepalive must be on, off or idle:interval:count")]
    public void Bad_entries_are_rejected_with_the_entry_and_the_reason(string entry, string reason)
    {
        Assert.False(ListenAddress.TryParse(entry, out var address, out var error));

        Assert.Null(address);
        Assert.StartsWith($"invalid listen address '{entry}': {reason}", error);
        Assert.Throws<FormatException>(() => ListenAddress.Parse(entry));
    }

    [Fact]
    public void List_is_split_on_commas_with_free_spacing()
    {
        var list = ListenAddress.ParseList(" 0.0.0.0:8000 ,0.0.0.0:8443 http2 ssl,[::]:8000");

        Assert.Equal(["0.0.0.0:8000", "0.0.0.0:8443 ssl http2", "[::]:8000"], list.Select(a => a.ToString()));
    }

    [Theory]
    [InlineData("off")]
    [InlineData("  off ")]
    public void Off_gives_an_empty_list(string value)
    {
        Assert.Empty(ListenAddress.ParseList(value));
    }

    [Fact]
    public void List_reports_every_bad_entry()
    {
        var error = Assert.Throws<FormatException>(() => ListenAddress.ParseList("127.0.0.1:1, nope, 127.0.0.1:70000, , 127.0.0.1:1"));

        var lines = error.Message.Split(Environment.NewLine);
        Assert.Equal(4, lines.Length);
        Assert.StartsWith("invalid listen address 'nope': missing port", lines[0]);
        Assert.StartsWith("invalid listen address '127.0.0.1:70000': port must be", lines[1]);
        Assert.StartsWith("empty entry in listen list", lines[2]);
        Assert.Equal("listen address '127.0.0.1:1' appears more than once", lines[3]);
    }

    [Fact]
    public void Off_mixed_with_addresses_is_rejected()
    {
        var error = Assert.Throws<FormatException>(() => ListenAddress.ParseList("0.0.0.0:8000, off"));

        Assert.Contains("'off' must be the only value", error.Message);
    }

    [Fact]
    public void Same_port_on_ipv4_and_ipv6_any_is_allowed_in_one_list()
    {
        Assert.Equal(2, ListenAddress.ParseList("0.0.0.0:8000, [::]:8000").Count);
    }
}
