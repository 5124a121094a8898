using System.Text.Json;
using Gantry.Entities.Records;

namespace Gantry.Balancing;

/// <summary>An upstream as the balancer and its health checks need it, read from the stored entity and its targets.</summary>
public sealed record UpstreamDefinition(Guid Id, string Name, BalancerSettings Settings, HealthCheckSettings HealthChecks,
    IReadOnlyList<(string Target, int Weight)> Targets, string HealthChecksJson)
{
    public static UpstreamDefinition From(UpstreamRecord upstream, IReadOnlyList<(string Target, int Weight)> targets)
    {
        var checks = HealthCheckSettings.From(upstream.Healthchecks);
        var settings = new BalancerSettings
        {
            Algorithm = BalancerSettings.ParseAlgorithm(upstream.Algorithm),
            Slots = upstream.Slots,
            Threshold = checks.Threshold,
        };
        // Compared across rebuilds to tell whether the checks must restart.
        return new UpstreamDefinition(upstream.Id, upstream.Name, settings, checks, targets, JsonSerializer.Serialize(upstream.Healthchecks));
    }
}
