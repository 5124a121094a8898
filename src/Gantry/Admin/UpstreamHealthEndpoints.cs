using Gantry.Entities.Records;
using System.Text.Json.Nodes;
using Gantry.Balancing;
using Gantry.Entities.Definitions;
using Gantry.Store;

namespace Gantry.Admin;

/// <summary>
/// Kong's target health endpoints. Health is this node's: <c>GET /upstreams/{u}/health</c> reports what
/// this node's checks and traffic decided, and a manual change (<c>…/healthy</c>, <c>…/unhealthy</c>) is
/// applied here and broadcast to the other nodes through cluster events, never stored.
/// </summary>
internal sealed class UpstreamHealthEndpoints(HealthRegistry registry, HealthEvents events)
{
    private static readonly string[] Marking = [HttpMethods.Put, HttpMethods.Post];

    public void MapAll(AdminApi api)
    {
        api.Map("/upstreams/{upstreams}/health", [HttpMethods.Get], (http, s) => HealthAsync(http, api.Dao, s[1]));
        api.Map("/upstreams/{upstreams}/targets/all", [HttpMethods.Get], (http, s) => AllTargetsAsync(http, api.Dao, s[1]));
        api.Map("/status/dns", [HttpMethods.Get], (http, _) => DnsAsync(http));
        foreach (var (state, healthy) in new[] { ("healthy", true), ("unhealthy", false) })
        {
            api.Map($"/upstreams/{{upstreams}}/targets/{{targets}}/{state}", Marking, (http, s) => MarkAsync(http, api.Dao, s[1], s[3], null, healthy));
            api.Map($"/upstreams/{{upstreams}}/targets/{{targets}}/{{address}}/{state}", Marking, (http, s) => MarkAsync(http, api.Dao, s[1], s[3], s[4], healthy));
        }
    }

    /// <summary>
    /// The names this node resolved for its targets. One process serves every request, so there is one
    /// "worker"; per name: its last addresses (or error), when, and how many resolutions succeeded or failed.
    /// </summary>
    private Task DnsAsync(HttpContext http)
    {
        var stats = new JsonObject();
        foreach (var (host, last, succeeded, failed) in registry.Resolver.Statistics())
        {
            stats[host] = new JsonObject
            {
                ["addresses"] = new JsonArray(last.Addresses.Select(a => (JsonNode?)a.ToString()).ToArray()),
                ["error"] = last.Error,
                ["resolved_at"] = last.At.ToUnixTimeMilliseconds() / 1000.0,
                ["succeeded"] = succeeded,
                ["failed"] = failed,
            };
        }
        return AdminJson.WriteAsync(http, 200, new JsonObject
        {
            ["worker"] = new JsonObject { ["id"] = 0, ["count"] = 1 },
            ["stats"] = stats,
        });
    }

    private async Task MarkAsync(HttpContext http, EntityDao dao, string upstreamKey, string targetKey, string? address, bool healthy)
    {
        var upstream = await UpstreamAsync(dao, upstreamKey, http.RequestAborted);
        var target = await dao.GetAsync(dao.Registry.Get("targets"), Targets.Parse(targetKey).Normalized ?? targetKey, http.RequestAborted,
            ("upstream_id", upstream["id"]!.GetValue<string>())) ?? throw EntityEndpoints.NotFound();
        if (address is not null)
        {
            try
            {
                BalancerTarget.Split(address);
            }
            catch (BalancerConfigurationException)
            {
                throw new AdminError(400, $"invalid address '{address}'; expected ip:port");
            }
        }
        var change = new HealthChange(Guid.Parse(upstream["id"]!.GetValue<string>()), target["target"]!.GetValue<string>(), address, healthy);
        await events.PublishAsync(change, http.RequestAborted);
        http.Response.StatusCode = 204;
    }

    private async Task HealthAsync(HttpContext http, EntityDao dao, string upstreamKey)
    {
        var upstream = await UpstreamAsync(dao, upstreamKey, http.RequestAborted);
        var id = Guid.Parse(upstream["id"]!.GetValue<string>());
        var health = registry.Find(id);
        var checksOn = HealthCheckSettings.From(EntityRecords.Read<UpstreamRecord>(dao.Registry.Get("upstreams"), upstream).Healthchecks).Enabled;
        var nodeId = registry.NodeId.ToString();
        if (http.Request.Query["balancer_health"].ToString() is "1" or "true")
        {
            var balancer = health?.Balancer;
            long total = balancer?.Health.TotalWeight ?? 0, available = balancer?.Health.HealthyWeight ?? 0;
            bool pickable = balancer?.Health.AnyPickable ?? false;
            await AdminJson.WriteAsync(http, 200, new JsonObject
            {
                ["data"] = new JsonObject
                {
                    ["health"] = !checksOn ? "HEALTHCHECKS_OFF" : pickable ? "HEALTHY" : "UNHEALTHY",
                    ["id"] = id.ToString(),
                    ["details"] = new JsonObject { ["healthy"] = pickable, ["weight"] = Weight(total, available) },
                },
                ["next"] = null,
                ["node_id"] = nodeId,
            });
            return;
        }
        await PageTargetsAsync(http, dao, upstream, $"/upstreams/{upstreamKey}/health", target =>
        {
            var address = target["target"]!.GetValue<string>();
            var entries = health?.EntriesOf(address) ?? [];
            var addresses = new JsonArray();
            long total = 0, available = 0;
            foreach (var (entry, healthy) in entries)
            {
                total += entry.Weight;
                available += healthy ? entry.Weight : 0;
                addresses.Add(new JsonObject
                {
                    ["ip"] = entry.Host,
                    ["port"] = entry.Port,
                    ["health"] = healthy ? "HEALTHY" : "UNHEALTHY",
                    ["weight"] = entry.Weight,
                });
            }
            target["health"] = HealthOf(health?.DnsError(address), checksOn, entries);
            target["data"] = new JsonObject { ["addresses"] = addresses, ["weight"] = Weight(total, available) };
            return target;
        }, nodeId);
    }

    /// <summary>DNS_ERROR when the name did not resolve; HEALTHCHECKS_OFF while nothing checks and nobody marked it down; else whether any address is up.</summary>
    private static string HealthOf(string? dnsError, bool checksOn, IReadOnlyList<(BalancerTarget Entry, bool Healthy)> entries)
    {
        if (dnsError is not null)
            return "DNS_ERROR";
        bool anyHealthy = entries.Count == 0 || entries.Any(e => e.Healthy);
        if (!checksOn && entries.All(e => e.Healthy))
            return "HEALTHCHECKS_OFF";
        return anyHealthy ? "HEALTHY" : "UNHEALTHY";
    }

    private static JsonObject Weight(long total, long available) => new()
    {
        ["total"] = total,
        ["available"] = available,
        ["unavailable"] = total - available,
    };

    private static async Task AllTargetsAsync(HttpContext http, EntityDao dao, string upstreamKey)
    {
        var upstream = await UpstreamAsync(dao, upstreamKey, http.RequestAborted);
        await PageTargetsAsync(http, dao, upstream, $"/upstreams/{upstreamKey}/targets/all", target => target, null);
    }

    /// <summary>One page of the upstream's targets (every one, weight 0 included), each shaped by <paramref name="shape"/>.</summary>
    private static async Task PageTargetsAsync(HttpContext http, EntityDao dao, JsonObject upstream, string basePath, Func<JsonObject, JsonObject> shape, string? nodeId)
    {
        var schema = dao.Registry.Get("targets");
        var size = EntityEndpoints.PageSize(http.Request.Query);
        var page = await dao.PageAsync(schema, new PageRequest(size, http.Request.Query["offset"].ToString(), [], false,
            ("upstream_id", upstream["id"]!.GetValue<string>()), false), http.RequestAborted);
        var body = new JsonObject { ["data"] = new JsonArray(page.Data.Select(t => (JsonNode)shape(AdminJson.Present(schema, t))).ToArray()) };
        if (page.Offset is { } offset)
        {
            body["offset"] = offset;
            body["next"] = $"{basePath}?offset={Uri.EscapeDataString(offset)}&size={size}";
        }
        else
        {
            body["next"] = null;
        }
        if (nodeId is not null)
            body["node_id"] = nodeId;
        await AdminJson.WriteAsync(http, 200, body);
    }

    private static async Task<JsonObject> UpstreamAsync(EntityDao dao, string key, CancellationToken cancellationToken) =>
        await dao.GetAsync(dao.Registry.Get("upstreams"), key, cancellationToken) ?? throw EntityEndpoints.NotFound();
}
