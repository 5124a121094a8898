using Gantry.Tests.Support;

namespace Gantry.Tests.Proxy;

/// <summary>
/// A proxy suite that runs once per forwarder (proxy_forwarder): Gantry's own HTTP/1.1 forwarder (auto)
/// and YARP's, so that the two stay equivalent, and some also with proxy_inline_io off (requests handed to the
/// thread pool; by default they run on the socket threads). The suite's installations set them on every node.
/// </summary>
public abstract class ForwarderSuite(string forwarder, bool inlineIo = true)
{
    /// <summary>The value of proxy_forwarder the suite's nodes run with.</summary>
    protected string Forwarder { get; } = forwarder;

    /// <summary>Whether the suite's nodes run with proxy_inline_io on (the default).</summary>
    protected bool InlineIo { get; } = inlineIo;

    /// <summary>A fresh installation whose nodes use <see cref="Forwarder"/>.</summary>
    protected async Task<TestInstallation> InstallAsync(string store)
    {
        var gantry = await TestInstallation.CreateAsync(store);
        gantry.Environment["GANTRY_PROXY_FORWARDER"] = Forwarder;
        if (!InlineIo)
            gantry.Environment["GANTRY_PROXY_INLINE_IO"] = "off";
        return gantry;
    }
}
