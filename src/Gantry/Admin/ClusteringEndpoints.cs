using System.Text.Json.Nodes;
using Gantry.Clustering.Registry;

namespace Gantry.Admin;

/// <summary>
/// <c>GET /clustering/data-planes</c> (Kong's paged <c>{data, next}</c>) and <c>GET /clustering/status</c>
/// (Kong's older map by node id, marked deprecated as Kong marks it), read from the data plane registry
/// that every control plane node of the database shares. Mapped on every node, as Kong maps them: a node
/// that is not a control plane answers 400 saying so, rather than 404, so that a client pointed at the
/// wrong node learns why.
/// </summary>
internal sealed class ClusteringEndpoints(DataPlaneRegistry? dataPlanes)
{
    public const string NotControlPlaneMessage =
        "this endpoint is only available when Gantry runs as a control plane (role = control_plane)";

    public void Map(AdminApi api)
    {
        api.Map("/clustering/data-planes", [HttpMethods.Get], (http, _) => DataPlanesAsync(http));
        api.Map("/clustering/status", [HttpMethods.Get], (http, _) => StatusAsync(http));
    }

    private async Task DataPlanesAsync(HttpContext http)
    {
        if (dataPlanes is null)
        {
            await AdminJson.WriteAsync(http, 400, new JsonObject { ["message"] = NotControlPlaneMessage });
            return;
        }
        var size = EntityEndpoints.PageSize(http.Request.Query);
        var page = await dataPlanes.PageAsync(size, http.Request.Query["offset"].ToString(), http.RequestAborted);
        var body = new JsonObject { ["data"] = new JsonArray(page.Data.Select(d => (JsonNode?)Item(d)).ToArray()) };
        if (page.Offset is { } offset)
        {
            body["offset"] = offset;
            body["next"] = $"/clustering/data-planes?offset={Uri.EscapeDataString(offset)}&size={size}";
        }
        else
        {
            body["next"] = null;
        }
        await AdminJson.WriteAsync(http, 200, body);
    }

    private async Task StatusAsync(HttpContext http)
    {
        if (dataPlanes is null)
        {
            await AdminJson.WriteAsync(http, 400, new JsonObject { ["message"] = NotControlPlaneMessage });
            return;
        }
        var body = new JsonObject();
        foreach (var entry in await dataPlanes.ListAsync(http.RequestAborted))
        {
            body[entry.Id.ToString()] = new JsonObject
            {
                ["config_hash"] = entry.ConfigHash,
                ["hostname"] = entry.Hostname,
                ["ip"] = entry.Ip,
                ["last_seen"] = entry.LastSeen,
            };
        }
        http.Response.Headers["Deprecation"] = "true";
        await AdminJson.WriteAsync(http, 200, body);
    }

    private static JsonObject Item(DataPlaneEntry entry)
    {
        var certificate = new JsonObject();
        if (entry.CertificateExpiry is { } expiry)
            certificate["expiry_timestamp"] = expiry;
        JsonObject? labels = null;
        if (entry.Labels is { } given)
        {
            labels = new JsonObject();
            foreach (var (key, value) in given.OrderBy(l => l.Key, StringComparer.Ordinal))
                labels[key] = value;
        }
        return new JsonObject
        {
            ["id"] = entry.Id.ToString(),
            ["ip"] = entry.Ip,
            ["hostname"] = entry.Hostname,
            ["version"] = entry.Version,
            ["sync_status"] = entry.SyncStatus,
            ["config_hash"] = entry.ConfigHash,
            ["last_seen"] = entry.LastSeen,
            ["updated_at"] = entry.UpdatedAt,
            ["ttl"] = entry.Ttl,
            ["labels"] = labels,
            ["cert_details"] = certificate,
        };
    }
}
