using System.Text.Json.Nodes;
using Gantry.Entities.Schema;

namespace Gantry.Balancing;

/// <summary>An upstream as the balancer and its health checks need it, read from the stored entity and its targets.</summary>
public sealed record UpstreamDefinition(Guid Id, string Name, BalancerSettings Settings, HealthCheckSettings HealthChecks,
    IReadOnlyList<(string Target, int Weight)> Targets, string HealthChecksJson)
{
    public static UpstreamDefinition From(JsonObject upstream, IReadOnlyList<(string Target, int Weight)> targets)
    {
        var algorithm = upstream["algorithm"]?.GetValue<string>() ?? "round-robin";
        var healthchecks = upstream["healthchecks"];
        var checks = HealthCheckSettings.From(healthchecks);
        var settings = new BalancerSettings
        {
            Algorithm = BalancerSettings.ParseAlgorithm(algorithm),
            Slots = upstream["slots"] is { } slots ? (int)SchemaValidator.ToDouble(slots) : 10000,
            Threshold = checks.Threshold,
        };
        return new UpstreamDefinition(Guid.Parse(upstream["id"]!.GetValue<string>()), upstream["name"]!.GetValue<string>(), settings, checks,
            targets, healthchecks?.ToJsonString() ?? "");
    }
}
