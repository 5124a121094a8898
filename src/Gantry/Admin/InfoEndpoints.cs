using System.Globalization;
using System.Text.Json.Nodes;
using Gantry.Configuration;
using Gantry.Node;

namespace Gantry.Admin;

/// <summary>
/// <c>GET /</c>, <c>GET /status</c> and <c>GET /endpoints</c>: what the node is, how it is doing, and what
/// the Admin API serves.
/// </summary>
/// <param name="dbless">The configuration store of a node without a database, whose hash /status reports.</param>
/// <param name="drain">The node's drain, during which /status/ready answers 503.</param>
/// <param name="hybrid">In hybrid mode, the key /status reports the link under (<c>control_plane</c> on a data plane,
/// <c>clustering</c> on a control plane) and its reader.</param>
internal sealed class InfoEndpoints(NodeInfo info, DatabaseHealth health, NodeCounters counters, Gantry.Proxy.SnapshotHolder? snapshots = null,
    DbLess.DbLessStore? dbless = null, NodeDrain? drain = null, (string Key, Func<JsonObject> Read)? hybrid = null)
{
    /// <summary>
    /// The Kong release whose Admin API Gantry speaks. decK and Kong Manager parse <c>version</c> as a Kong
    /// version and pick their behaviour by it, so it names Kong's release; Gantry's own is <c>gantry_version</c>.
    /// </summary>
    public const string KongCompatibleVersion = "3.9.0";

    public void MapAll(AdminApi api)
    {
        api.Map("/", [HttpMethods.Get], (http, _) => RootAsync(http, api));
        MapStatus(api);
        api.Map("/endpoints", [HttpMethods.Get], (http, _) =>
            AdminJson.WriteAsync(http, 200, new JsonObject { ["data"] = new JsonArray(api.Endpoints().Select(p => (JsonNode?)p).ToArray()) }));
    }

    private async Task RootAsync(HttpContext http, AdminApi api)
    {
        var available = new JsonObject();
        foreach (var plugin in info.EnabledPlugins.OrderBy(p => p.Name, StringComparer.Ordinal))
            available[plugin.Name] = new JsonObject { ["version"] = plugin.Version, ["priority"] = plugin.Priority };
        var enabled = await PluginsInUseAsync(api, http.RequestAborted);
        var body = new JsonObject
        {
            ["tagline"] = "Welcome to gantry",
            ["version"] = KongCompatibleVersion,
            ["gantry_version"] = GantryInfo.Version,
            ["edition"] = "community",
            ["hostname"] = info.Hostname,
            ["node_id"] = info.NodeId.ToString(),
            ["configuration"] = Configuration(info.Config),
            ["plugins"] = new JsonObject
            {
                ["available_on_server"] = available,
                ["enabled_in_cluster"] = new JsonArray(enabled.Select(n => (JsonNode?)n).ToArray()),
            },
            // One process serves every request; it stands for Kong's master and its only worker.
            ["pids"] = new JsonObject { ["master"] = Environment.ProcessId, ["workers"] = new JsonArray(Environment.ProcessId) },
        };
        await AdminJson.WriteAsync(http, 200, body);
    }

    /// <summary>Names of the plugins that at least one plugin entity uses, read from the store (in memory without a database).</summary>
    private static Task<IReadOnlyList<string>> PluginsInUseAsync(AdminApi api, CancellationToken cancellationToken) =>
        api.Dao.DistinctAsync(api.Registry.Get("plugins"), "name", cancellationToken);

    /// <summary>
    /// The effective configuration, secrets redacted, typed as Kong shows it: booleans and numbers as JSON
    /// values, lists as arrays, unset properties left out. Kong Manager reads <c>role</c> and <c>database</c>.
    /// </summary>
    internal static JsonObject Configuration(GantryConfig config)
    {
        var result = new JsonObject();
        foreach (var (name, value) in config.ToRedactedDictionary())
        {
            if (value.Length == 0)
                continue;
            var property = ConfProperties.Find(name)!;
            result[name] = property.Kind switch
            {
                _ when value == GantryConfig.Redacted => value,
                ConfKind.Boolean when ConfValues.TryParseBoolean(value, out var b) => b,
                ConfKind.Integer or ConfKind.Number when ConfValues.TryParseNumber(value, out var d) =>
                    d % 1 == 0 && Math.Abs(d) < 9e15 ? JsonValue.Create((long)d) : JsonValue.Create(d),
                ConfKind.List => new JsonArray(ConfValues.SplitList(value).Select(v => (JsonNode?)v).ToArray()),
                ConfKind.ListenList => value.Trim() == "off"
                    ? new JsonArray()
                    : new JsonArray(ConfValues.SplitList(value).Select(v => (JsonNode?)v).ToArray()),
                _ => value,
            };
        }
        return result;
    }

    /// <summary>/status and /status/ready: on the Admin API and, alone, on the Status API listener.</summary>
    public void MapStatus(AdminApi api)
    {
        api.Map("/status", [HttpMethods.Get], (http, _) => StatusAsync(http));
        api.Map("/status/ready", [HttpMethods.Get], (http, _) => ReadyAsync(http));
    }

    /// <summary>
    /// Ready once the database answers and a configuration has been built; without a database, once a
    /// configuration is loaded. Never again once the node drains: balancers should stop sending it traffic.
    /// </summary>
    private async Task ReadyAsync(HttpContext http)
    {
        if (drain is { IsDraining: true })
            await AdminJson.WriteAsync(http, 503, new JsonObject { ["message"] = "draining" });
        else if (dbless is { Loaded: false })
            await AdminJson.WriteAsync(http, 503, new JsonObject { ["message"] = "no configuration available (empty configuration present)" });
        else if (await health.IsReachableAsync(http.RequestAborted) == false)
            await AdminJson.WriteAsync(http, 503, new JsonObject { ["message"] = "failed to connect to database" });
        // A node with a database builds its first snapshot before it listens, so this only guards that order.
        else if (dbless is null && snapshots is { Current.Version: 0 })
            await AdminJson.WriteAsync(http, 503, new JsonObject { ["message"] = "no configuration available (configuration not built yet)" });
        else
            await AdminJson.WriteAsync(http, 200, new JsonObject { ["message"] = "ready" });
    }

    private async Task StatusAsync(HttpContext http)
    {
        var (unit, divisor) = MemoryUnit(http.Request.Query["unit"].ToString());
        var scale = 2;
        if (http.Request.Query.TryGetValue("scale", out var scaleText)
            && (!int.TryParse(scaleText, NumberStyles.None, CultureInfo.InvariantCulture, out scale) || scale > 10))
            throw new AdminError(400, "invalid scale: " + scaleText);
        var reachable = await health.IsReachableAsync(http.RequestAborted);
        var process = System.Diagnostics.Process.GetCurrentProcess();
        string Format(long bytes) => divisor == 1
            ? bytes.ToString(CultureInfo.InvariantCulture)
            : Math.Round(bytes / divisor, scale).ToString("F" + scale, CultureInfo.InvariantCulture) + " " + unit;
        var body = new JsonObject
        {
            ["configuration"] = snapshots is null ? null : ConfigurationStatus(snapshots),
            ["server"] = new JsonObject
            {
                ["total_requests"] = counters.TotalRequests,
                ["connections_active"] = counters.ActiveConnections,
                ["connections_accepted"] = counters.AcceptedConnections,
                ["connections_handled"] = counters.AcceptedConnections,
            },
            // Kong's shape, so that tools reading it find their keys: the managed heap stands for a worker's
            // Lua VM. Gantry has no shared dictionaries; its own figures are beside them.
            ["memory"] = new JsonObject
            {
                ["workers_lua_vms"] = new JsonArray(new JsonObject { ["pid"] = Environment.ProcessId, ["http_allocated_gc"] = Format(GC.GetTotalMemory(false)) }),
                ["lua_shared_dicts"] = new JsonObject(),
                ["resident"] = Format(process.WorkingSet64),
                ["managed_heap"] = Format(GC.GetTotalMemory(false)),
            },
        };
        // As Kong: a node without a database reports the hash of its configuration instead of a database.
        if (dbless is not null)
            body["configuration_hash"] = dbless.Hash;
        else
            body["database"] = new JsonObject { ["reachable"] = reachable ?? true };
        if (hybrid is { } link)
            body[link.Key] = link.Read();
        await AdminJson.WriteAsync(http, 200, body);
    }

    /// <summary>Most invalid entities /status lists; the count says how many there are in all.</summary>
    private const int ListedInvalidEntities = 100;

    /// <summary>
    /// The proxy's configuration: which snapshot serves, whether the last refresh applied every change
    /// (<c>up_to_date</c>), and if not, whether the database could not be reached or the build failed
    /// (<c>database_reachable</c>, <c>error</c>); apart from that, the stored entities the snapshot had to
    /// leave out because they cannot be used (<c>invalid_entities</c>), which never stop the rest from applying.
    /// </summary>
    private static JsonObject ConfigurationStatus(Proxy.SnapshotHolder snapshots)
    {
        var current = snapshots.Current;
        var invalid = current.Invalid.All.ToList();
        return new JsonObject
        {
            ["version"] = current.Version,
            ["routes"] = current.Router.RouteCount,
            ["up_to_date"] = snapshots.LastError is null,
            ["database_reachable"] = snapshots.DatabaseReachable,
            ["error"] = snapshots.LastError,
            ["invalid_entities_count"] = invalid.Count,
            ["invalid_entities"] = new JsonArray(invalid.Take(ListedInvalidEntities)
                .Select(e => (JsonNode)new JsonObject { ["entity"] = e.Entity, ["id"] = e.Id, ["reason"] = e.Reason }).ToArray()),
        };
    }

    /// <summary>Kong's <c>?unit=</c>: b, k, m (the default) or g.</summary>
    private static (string Unit, double Divisor) MemoryUnit(string unit) => unit switch
    {
        "" or "m" or "M" => ("MiB", 1024d * 1024),
        "k" or "K" => ("KiB", 1024d),
        "g" or "G" => ("GiB", 1024d * 1024 * 1024),
        "b" or "B" => ("B", 1d),
        _ => throw new AdminError(400, "invalid unit '" + unit + "' (expected 'k/K', 'm/M', or 'g/G')"),
    };
}
