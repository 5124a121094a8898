using Gantry.Tests.Support;

namespace Gantry.Tests.Proxy;

/// <summary>How a suite's nodes do their proxy I/O.</summary>
public enum ProxyIo
{
    /// <summary>proxy_io = epoll (the default): Gantry's own event loops serve client and upstream connections.</summary>
    Epoll,
    /// <summary>proxy_io = runtime with proxy_inline_io on: the runtime's socket threads run requests.</summary>
    Inline,
    /// <summary>proxy_io = runtime with proxy_inline_io off: requests are handed to the thread pool.</summary>
    Pooled,
}

/// <summary>
/// A proxy suite that runs once per forwarder (proxy_forwarder): Gantry's own HTTP/1.1 forwarder (auto)
/// and YARP's, so that the two stay equivalent, and some also once per way of doing the proxy's I/O
/// (<see cref="ProxyIo"/>). The suite's installations set them on every node.
/// </summary>
public abstract class ForwarderSuite(string forwarder, ProxyIo io = ProxyIo.Epoll)
{
    /// <summary>The value of proxy_forwarder the suite's nodes run with.</summary>
    protected string Forwarder { get; } = forwarder;

    /// <summary>How the suite's nodes do their proxy I/O.</summary>
    protected ProxyIo Io { get; } = io;

    /// <summary>A fresh installation whose nodes use <see cref="Forwarder"/> and <see cref="Io"/>.</summary>
    protected async Task<TestInstallation> InstallAsync(string store)
    {
        var gantry = await TestInstallation.CreateAsync(store);
        gantry.Environment["GANTRY_PROXY_FORWARDER"] = Forwarder;
        Configure(gantry.Environment, Io);
        return gantry;
    }

    /// <summary>The settings of <paramref name="io"/>, for a node's environment.</summary>
    public static void Configure(IDictionary<string, string> environment, ProxyIo io)
    {
        environment["GANTRY_PROXY_IO"] = io == ProxyIo.Epoll ? "epoll" : "runtime";
        environment["GANTRY_PROXY_INLINE_IO"] = io == ProxyIo.Pooled ? "off" : "on";
    }
}
