using Gantry.Balancing;
using Yarp.ReverseProxy.Forwarder;

namespace Gantry.Proxy;

/// <summary>
/// An upstream as the proxy serves it in one snapshot: its balancer (owned by the node's
/// <see cref="UpstreamHealth"/>, so health and DNS changes apply without a rebuild), the Host it sends,
/// and what consistent hashing hashes.
/// </summary>
public sealed class UpstreamBalancer(UpstreamHealth health, string? hostHeader, UpstreamHashInput hashInput)
{
    public Balancer Balancer => Health.Balancer;

    public UpstreamHealth Health { get; } = health;

    /// <summary>The upstream's host_header; null sends the target's own host.</summary>
    public string? HostHeader { get; } = hostHeader;

    public UpstreamHashInput HashInput { get; } = hashInput;

    /// <summary>Counts a proxied request toward the passive health checks; nothing to do when they are off.</summary>
    public void ReportOutcome(BalancerTarget target, ForwarderError error, int status)
    {
        if (!Health.PassiveEnabled)
            return;
        var checks = Health.Definition.HealthChecks;
        var outcome = error switch
        {
            ForwarderError.None when checks.PassiveUnhealthyStatuses.Contains(status) => HealthOutcome.HttpFailure,
            ForwarderError.None when checks.PassiveHealthyStatuses.Contains(status) => HealthOutcome.Success,
            ForwarderError.None => HealthOutcome.Ignored,
            ForwarderError.RequestTimedOut => HealthOutcome.Timeout,
            // The client went away or sent a broken body: nothing learnt about the target.
            ForwarderError.RequestCanceled or ForwarderError.RequestBodyCanceled or ForwarderError.RequestBodyClient
                or ForwarderError.ResponseBodyCanceled or ForwarderError.ResponseBodyClient or ForwarderError.UpgradeRequestCanceled
                or ForwarderError.UpgradeRequestClient or ForwarderError.UpgradeResponseCanceled or ForwarderError.UpgradeResponseClient => HealthOutcome.Ignored,
            _ => HealthOutcome.TcpFailure,
        };
        Health.ReportPassive(target, outcome);
    }
}
