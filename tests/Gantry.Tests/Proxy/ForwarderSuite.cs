using Gantry.Tests.Support;

namespace Gantry.Tests.Proxy;

/// <summary>
/// A proxy suite that runs once per forwarder (proxy_forwarder): Gantry's own HTTP/1.1 forwarder (auto)
/// and YARP's, so that the two stay equivalent. The suite's installations set it on every node.
/// </summary>
public abstract class ForwarderSuite(string forwarder)
{
    /// <summary>The value of proxy_forwarder the suite's nodes run with.</summary>
    protected string Forwarder { get; } = forwarder;

    /// <summary>A fresh installation whose nodes use <see cref="Forwarder"/>.</summary>
    protected async Task<TestInstallation> InstallAsync(string store)
    {
        var gantry = await TestInstallation.CreateAsync(store);
        gantry.Environment["GANTRY_PROXY_FORWARDER"] = Forwarder;
        return gantry;
    }
}
