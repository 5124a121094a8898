using System.Text.Json.Nodes;
using Gantry.Entities.Schema;
using Gantry.Store;

namespace Gantry.Admin;

/// <summary>
/// The Admin API: a few fixed endpoints (the root, status, schemas, tags…) and the generated endpoints of
/// every entity. Every failure becomes Kong's error body; nothing escapes as a stack trace.
/// </summary>
public sealed class AdminApi
{
    private readonly EntityEndpoints _entities;
    private readonly Dictionary<string, Func<HttpContext, string[], Task>> _fixed = new(StringComparer.Ordinal);
    private readonly ILogger _logger;

    public AdminApi(EntityDao dao, EntityRegistry registry, ILogger logger)
    {
        _entities = new EntityEndpoints(dao, registry);
        Registry = registry;
        Dao = dao;
        _logger = logger;
    }

    public EntityRegistry Registry { get; }

    public EntityDao Dao { get; }

    /// <summary>Adds a fixed endpoint; <paramref name="template"/> is a path whose '*' segments match anything.</summary>
    public void Map(string template, Func<HttpContext, string[], Task> handler) => _fixed[template] = handler;

    public async Task HandleAsync(HttpContext http)
    {
        try
        {
            var segments = (http.Request.Path.Value ?? "/").Split('/', StringSplitOptions.RemoveEmptyEntries).Select(Uri.UnescapeDataString).ToArray();
            if (FindFixed(segments) is { } handler)
                await handler(http, segments);
            else if (!await _entities.TryHandleAsync(http, segments))
                throw EntityEndpoints.NotFound();
        }
        catch (AdminError e)
        {
            await AdminJson.WriteAsync(http, e.Status, e.Body);
        }
        catch (EntityException e)
        {
            var error = EntityEndpoints.Entity(e);
            await AdminJson.WriteAsync(http, error.Status, error.Body);
        }
        catch (BadHttpRequestException e)
        {
            await AdminJson.WriteAsync(http, e.StatusCode, new JsonObject { ["message"] = e.Message });
        }
        catch (Exception e) when (!http.RequestAborted.IsCancellationRequested)
        {
            // Whatever went wrong, the client gets Kong's opaque 500 and the node keeps serving.
            _logger.LogError(e, "Admin API {Method} {Path} failed", http.Request.Method, http.Request.Path);
            await AdminJson.WriteAsync(http, 500, new JsonObject { ["message"] = "An unexpected error occurred" });
        }
    }

    private Func<HttpContext, string[], Task>? FindFixed(string[] segments)
    {
        var path = "/" + string.Join('/', segments);
        if (_fixed.TryGetValue(path, out var exact))
            return exact;
        foreach (var (template, handler) in _fixed)
        {
            var parts = template.Split('/', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length != segments.Length)
                continue;
            var match = true;
            for (var i = 0; i < parts.Length && match; i++)
                match = parts[i] == "*" || parts[i] == segments[i];
            if (match)
                return handler;
        }
        return null;
    }
}
