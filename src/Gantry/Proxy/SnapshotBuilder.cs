using System.Collections.Frozen;
using System.Text.Json.Nodes;
using Gantry.Balancing;
using Gantry.Entities.Schema;
using Gantry.Routing;
using Gantry.Store;

namespace Gantry.Proxy;

/// <summary>Reads services and routes from the store and compiles them into a <see cref="ConfigSnapshot"/>.</summary>
public sealed class SnapshotBuilder(EntityDao dao, EntityRegistry registry)
{
    // Kept across rebuilds: unchanged certificates are not parsed again.
    private readonly Node.CertificateCache _certificates = new();

    public async Task<ConfigSnapshot> BuildAsync(long version, CancellationToken cancellationToken)
    {
        var services = new Dictionary<Guid, (ServiceTarget Target, string? Path, bool Enabled)>();
        await foreach (var service in AllAsync(registry.Get("services"), cancellationToken))
        {
            var id = Guid.Parse(service["id"]!.GetValue<string>());
            var target = new ServiceTarget(id, Text(service, "protocol") ?? "http", Text(service, "host") ?? "", Int(service, "port", 80),
                Int(service, "connect_timeout", 60000), Int(service, "read_timeout", 60000), Int(service, "write_timeout", 60000), Int(service, "retries", 5));
            services[id] = (target, Text(service, "path"), service["enabled"]?.GetValue<bool>() ?? true);
        }
        var routes = new List<RouteDefinition>();
        await foreach (var route in AllAsync(registry.Get("routes"), cancellationToken))
        {
            Guid? serviceId = route["service"]?["id"] is { } sid ? Guid.Parse(sid.GetValue<string>()) : null;
            // A disabled service takes its routes out of the router.
            if (serviceId is { } s && services.TryGetValue(s, out var owner) && !owner.Enabled)
                continue;
            routes.Add(new RouteDefinition
            {
                Id = Guid.Parse(route["id"]!.GetValue<string>()),
                Name = Text(route, "name"),
                Protocols = Strings(route, "protocols") ?? ["http", "https"],
                Methods = Strings(route, "methods"),
                Hosts = Strings(route, "hosts"),
                Paths = Strings(route, "paths"),
                Headers = route["headers"] is JsonObject headers
                    ? headers.ToDictionary(h => h.Key, h => (IReadOnlyList<string>)(h.Value?.AsArray().Select(v => v!.GetValue<string>()).ToList() ?? []))
                    : null,
                Snis = Strings(route, "snis"),
                RegexPriority = Int(route, "regex_priority", 0),
                StripPath = route["strip_path"]?.GetValue<bool>() ?? true,
                PreserveHost = route["preserve_host"]?.GetValue<bool>() ?? false,
                PathHandling = Text(route, "path_handling") ?? "v0",
                HttpsRedirectStatusCode = Int(route, "https_redirect_status_code", 426),
                ServiceId = serviceId,
                ServicePath = serviceId is { } svc && services.TryGetValue(svc, out var found) ? found.Path : null,
                CreatedAt = (long)(route["created_at"] is { } c ? SchemaValidator.ToDouble(c) : 0),
            });
        }
        return new ConfigSnapshot(Router.Build(routes), services.ToFrozenDictionary(p => p.Key, p => p.Value.Target),
            await BuildUpstreamsAsync(cancellationToken), version, await BuildCertificatesAsync(cancellationToken));
    }

    private async Task<Node.SniCertificates> BuildCertificatesAsync(CancellationToken cancellationToken)
    {
        var stored = new List<(Guid, long, string, string)>();
        await foreach (var certificate in AllAsync(registry.Get("certificates"), cancellationToken))
        {
            var updatedAt = certificate["updated_at"] ?? certificate["created_at"];
            stored.Add((Guid.Parse(certificate["id"]!.GetValue<string>()), updatedAt is null ? 0 : (long)SchemaValidator.ToDouble(updatedAt),
                Text(certificate, "cert")!, Text(certificate, "key")!));
        }
        var contexts = _certificates.Refresh(stored);
        var byName = new Dictionary<string, System.Net.Security.SslStreamCertificateContext>(StringComparer.OrdinalIgnoreCase);
        await foreach (var sni in AllAsync(registry.Get("snis"), cancellationToken))
        {
            if (sni["certificate"]?["id"] is { } id && contexts.TryGetValue(Guid.Parse(id.GetValue<string>()), out var context))
                byName[Text(sni, "name")!] = context;
        }
        return new Node.SniCertificates(byName);
    }

    private async Task<FrozenDictionary<string, UpstreamBalancer>> BuildUpstreamsAsync(CancellationToken cancellationToken)
    {
        var targets = new Dictionary<string, List<(string Address, int Weight)>>();
        await foreach (var target in AllAsync(registry.Get("targets"), cancellationToken))
        {
            var upstream = target["upstream"]!["id"]!.GetValue<string>();
            if (!targets.TryGetValue(upstream, out var list))
                targets[upstream] = list = [];
            list.Add((Text(target, "target")!, Int(target, "weight", 100)));
        }
        var upstreams = new Dictionary<string, UpstreamBalancer>(StringComparer.OrdinalIgnoreCase);
        await foreach (var upstream in AllAsync(registry.Get("upstreams"), cancellationToken))
        {
            var algorithm = Text(upstream, "algorithm") ?? "round-robin";
            var settings = new BalancerSettings
            {
                // The latency algorithm is not built yet; its upstreams balance round-robin meanwhile.
                Algorithm = BalancerSettings.ParseAlgorithm(algorithm == "latency" ? "round-robin" : algorithm),
                Slots = Int(upstream, "slots", 10000),
            };
            var balancer = Balancer.Create(targets.GetValueOrDefault(upstream["id"]!.GetValue<string>()) ?? [], settings);
            upstreams[Text(upstream, "name")!] = new UpstreamBalancer(balancer, Text(upstream, "host_header"), Text(upstream, "hash_on") ?? "none", Text(upstream, "hash_on_header"));
        }
        return upstreams.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
    }

    private async IAsyncEnumerable<JsonObject> AllAsync(EntitySchema schema, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        string? offset = null;
        do
        {
            var page = await dao.PageAsync(schema, new PageRequest(1000, offset, [], false, null, false), cancellationToken);
            foreach (var entity in page.Data)
                yield return entity;
            offset = page.Offset;
        }
        while (offset is not null);
    }

    private static string? Text(JsonObject entity, string name) => entity[name]?.GetValue<string>();

    private static int Int(JsonObject entity, string name, int fallback) => entity[name] is { } value ? (int)SchemaValidator.ToDouble(value) : fallback;

    private static IReadOnlyList<string>? Strings(JsonObject entity, string name) =>
        entity[name] is JsonArray array ? array.Select(v => v!.GetValue<string>()).ToList() : null;
}
