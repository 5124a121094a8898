using System.Text.Json.Nodes;
using Gantry.Entities;
using Gantry.Entities.Schema;
using Gantry.Store;

namespace Gantry.Admin;

/// <summary>
/// The Admin API: a few fixed endpoints (the root, status, schemas, tags…) and the generated endpoints of
/// every entity. Every failure becomes Kong's error body; nothing escapes as a stack trace. Cross-origin
/// requests from the admin GUI's origins are answered here, in front of every endpoint.
/// </summary>
public sealed class AdminApi
{
    private static readonly string[] AnyMethod = [];

    private readonly EntityEndpoints? _entities;
    private readonly List<FixedEndpoint> _fixed = [];
    private readonly ILogger _logger;

    /// <param name="serveEntities">False for an API of fixed endpoints only (the Status API listener).</param>
    /// <param name="readOnly">True without a database: entities are read, and every write is refused as Kong refuses it.</param>
    public AdminApi(EntityDao dao, EntityRegistry registry, ILogger logger, AdminCors? cors = null, bool serveEntities = true, bool readOnly = false)
    {
        _entities = serveEntities ? new EntityEndpoints(dao, new EntityWriter(dao, readOnly), registry) : null;
        Registry = registry;
        Dao = dao;
        Cors = cors ?? AdminCors.None;
        _logger = logger;
    }

    public EntityRegistry Registry { get; }

    public EntityDao Dao { get; }

    public AdminCors Cors { get; }

    /// <summary>
    /// Adds a fixed endpoint that answers every method itself; <paramref name="template"/> is a path whose
    /// '*' or '{name}' segments match anything.
    /// </summary>
    public void Map(string template, Func<HttpContext, string[], Task> handler) => Map(template, AnyMethod, handler);

    /// <summary>Adds a fixed endpoint for the given methods; any other method is answered 405 (HEAD follows GET).</summary>
    public void Map(string template, string[] methods, Func<HttpContext, string[], Task> handler) =>
        _fixed.Add(new FixedEndpoint(template, template.Split('/', StringSplitOptions.RemoveEmptyEntries), methods, handler));

    /// <summary>
    /// Every path this Admin API serves, in Kong's notation (<c>/services/{services}</c>), sorted: the
    /// fixed endpoints and the generated ones of every entity.
    /// </summary>
    public IReadOnlyList<string> Endpoints()
    {
        var paths = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var endpoint in _fixed)
            paths.Add(endpoint.Display);
        foreach (var path in _entities?.Templates() ?? [])
            paths.Add(path);
        return paths.ToList();
    }

    public async Task HandleAsync(HttpContext http)
    {
        try
        {
            var segments = Segments(http);
            var origin = Cors.AllowedOrigin(http.Request);
            if (origin is not null)
                AdminCors.Echo(http.Response, origin);
            if (HttpMethods.IsOptions(http.Request.Method))
            {
                var allowed = AllowedMethods(segments) ?? throw EntityEndpoints.NotFound();
                AdminCors.Preflight(http, allowed, origin is not null);
                return;
            }
            if (FindFixed(segments) is { } endpoint)
            {
                if (endpoint.Methods.Length > 0 && !endpoint.Allows(http.Request.Method))
                    throw EntityEndpoints.MethodNotAllowed();
                await endpoint.Handler(http, segments);
            }
            else if (_entities is null || !await _entities.TryHandleAsync(http, segments))
            {
                throw EntityEndpoints.NotFound();
            }
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
        catch (DatabaseUnavailableException e) when (!http.RequestAborted.IsCancellationRequested)
        {
            // The database's failure, not the request's: a 503 naming the store, so the client knows to retry.
            _logger.LogWarning("Admin API {Method} {Path}: {Message}", http.Request.Method, http.Request.Path, e.Message);
            await AdminJson.WriteAsync(http, 503, new JsonObject { ["message"] = e.Message });
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

    /// <summary>
    /// The path's segments, each percent-decoded exactly once. Kestrel has already decoded the path and
    /// removed dot segments, except for <c>%2F</c>, which it leaves encoded so that a '/' inside a name
    /// does not split it; decoding everything again would turn <c>%2525</c> into '%'.
    /// </summary>
    private static string[] Segments(HttpContext http) =>
        (http.Request.Path.Value ?? "/").Split('/', StringSplitOptions.RemoveEmptyEntries)
            .Select(s => s.Replace("%2F", "/", StringComparison.OrdinalIgnoreCase))
            .ToArray();

    /// <summary>The methods a path answers (for OPTIONS and CORS preflight), or null when the path is unknown.</summary>
    private string[]? AllowedMethods(string[] segments)
    {
        if (FindFixed(segments) is { } endpoint)
            return endpoint.Methods.Length > 0 ? [.. endpoint.Methods, HttpMethods.Options] : ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
        return _entities?.AllowedMethods(segments);
    }

    /// <summary>The matching fixed endpoint with the most literal segments, so /schemas/plugins/validate beats /schemas/{entity}/validate.</summary>
    private FixedEndpoint? FindFixed(string[] segments)
    {
        FixedEndpoint? best = null;
        var bestLiterals = -1;
        foreach (var endpoint in _fixed)
        {
            var parts = endpoint.Parts;
            if (parts.Length != segments.Length)
                continue;
            var literals = 0;
            var match = true;
            for (var i = 0; i < parts.Length && match; i++)
            {
                if (parts[i] == "*")
                    continue;
                match = parts[i] == segments[i];
                literals++;
            }
            if (match && literals > bestLiterals)
            {
                best = endpoint;
                bestLiterals = literals;
            }
        }
        return best;
    }

    private sealed class FixedEndpoint(string template, string[] parts, string[] methods, Func<HttpContext, string[], Task> handler)
    {
        public string Template { get; } = template;

        // '{name}' segments are wildcards like '*'; kept as '*' so matching has one rule.
        public string[] Parts { get; } = parts.Select(p => p.StartsWith('{') && p.EndsWith('}') ? "*" : p).ToArray();

        public string[] Methods { get; } = methods.Contains(HttpMethods.Get) && !methods.Contains(HttpMethods.Head) ? [.. methods, HttpMethods.Head] : methods;

        public Func<HttpContext, string[], Task> Handler { get; } = handler;

        /// <summary>The template as /endpoints lists it: '*' named after the collection before it, as Kong names them.</summary>
        public string Display { get; } = "/" + string.Join('/', parts.Select((p, i) => p == "*" ? "{" + (i > 0 ? parts[i - 1] : "param") + "}" : p));

        public bool Allows(string method) => Methods.Any(m => string.Equals(m, method, StringComparison.OrdinalIgnoreCase));

        public override string ToString() => Template;
    }
}
