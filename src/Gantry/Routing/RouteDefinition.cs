using Gantry.Entities.Records;

namespace Gantry.Routing;

/// <summary>
/// The fields of a Kong route that the router reads, already resolved by the snapshot builder.
/// <see cref="ServicePath"/> is the owning service's path, copied here so that the router
/// can compute the upstream path without reaching back into the store.
/// </summary>
public sealed record RouteDefinition
{
    public required Guid Id { get; init; }
    public string? Name { get; init; }
    public IReadOnlyList<string> Protocols { get; init; } = ["http", "https"];
    public IReadOnlyList<string>? Methods { get; init; }
    public IReadOnlyList<string>? Hosts { get; init; }
    public IReadOnlyList<string>? Paths { get; init; }
    /// <summary>Header name to accepted values; a value starting with <c>~*</c> is a regex.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>>? Headers { get; init; }
    public IReadOnlyList<string>? Snis { get; init; }
    public int RegexPriority { get; init; }
    public bool StripPath { get; init; } = true;
    public bool PreserveHost { get; init; }
    /// <summary>Only <c>v0</c> applies under traditional_compatible; <c>v1</c> is a traditional-flavor leftover and is treated as v0.</summary>
    public string PathHandling { get; init; } = "v0";
    public int HttpsRedirectStatusCode { get; init; } = 426;

    /// <summary>The route accepts HTTPS but not plain HTTP: a plain request is redirected (or answered 426).</summary>
    public bool RequiresTls => _requiresTls ??= Protocols.Contains("https") && !Protocols.Contains("http");

    private bool? _requiresTls;
    public Guid? ServiceId { get; init; }
    public string? ServicePath { get; init; }

    /// <summary>The owning service's name, else its id: how metrics label the service.</summary>
    public string? ServiceLabel { get; init; }

    /// <summary>The route's name, else its id: how metrics label the route.</summary>
    public string Label => _label ??= Name ?? Id.ToString();

    private string? _label;
    public long CreatedAt { get; init; }

    /// <summary>The route's expression (router_flavor = expressions); a route with one matches by it alone.</summary>
    public string? Expression { get; init; }

    /// <summary>An expression route's rank: higher first, ties to the larger id.</summary>
    public long Priority { get; init; }

    /// <summary>Where requests must come from (any of them), or null for anywhere; see <see cref="NetworkEndpoint"/>.</summary>
    public IReadOnlyList<NetworkEndpoint>? Sources { get; init; }

    /// <summary>Which address and port requests must reach (any of them), or null for any.</summary>
    public IReadOnlyList<NetworkEndpoint>? Destinations { get; init; }

    /// <summary>Whether matching the route reads the connection's addresses and ports.</summary>
    public bool ReadsConnection => Sources is not null || Destinations is not null;

    /// <summary>The route as the router reads it, from its stored record and the service it points at (null when none or unknown).</summary>
    public static RouteDefinition From(RouteRecord route, ServiceRecord? service) => new()
    {
        Id = route.Id,
        Name = route.Name,
        Protocols = route.Protocols,
        Methods = route.Methods,
        Hosts = route.Hosts,
        Paths = route.Paths,
        Headers = route.Headers,
        Snis = route.Snis,
        RegexPriority = route.RegexPriority,
        StripPath = route.StripPath,
        PreserveHost = route.PreserveHost,
        PathHandling = route.PathHandling,
        HttpsRedirectStatusCode = route.HttpsRedirectStatusCode,
        ServiceId = route.Service?.Id,
        ServicePath = service?.Path,
        ServiceLabel = service is null ? null : service.Name ?? service.Id.ToString(),
        CreatedAt = (long)route.CreatedAt,
        Expression = route.Expression,
        Priority = route.Priority,
        Sources = route.Sources is { Count: > 0 } sources ? [.. sources.Select(NetworkEndpoint.From)] : null,
        Destinations = route.Destinations is { Count: > 0 } destinations ? [.. destinations.Select(NetworkEndpoint.From)] : null,
    };

    /// <summary>How error messages name the route: its name when it has one, always its id.</summary>
    internal string Describe() => Name is null ? $"route {Id}" : $"route '{Name}' ({Id})";
}
