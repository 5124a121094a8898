using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using Gantry.Tests.Support;
using Xunit.Abstractions;

namespace Gantry.Tests.Admin;

/// <summary>
/// Every operation of Kong's Admin API contract that Gantry serves is called with a valid request against
/// a running node, and its 2xx body must match the contract's response schema. Operations Gantry does not
/// serve (a 404 or 405 for a request that would be valid on Kong) are printed, and each must be listed
/// in docs/admin-api.md, so a served endpoint that breaks cannot hide as "not implemented".
/// </summary>
public abstract class ContractTests<TNode>(TNode node, ITestOutputHelper output) where TNode : AdminNode
{
    [Fact]
    public async Task Served_operations_answer_as_the_contract_says()
    {
        var contract = OpenApiContract.Load();
        var world = new ContractWorld(node);
        var failures = new List<string>();
        var unserved = new List<(ContractOperation Operation, string Reason)>();
        var served = new List<ContractOperation>();
        foreach (var operation in contract.Operations)
        {
            var outcome = await world.CallAsync(operation);
            switch (outcome)
            {
                case { Unserved: { } reason }:
                    unserved.Add((operation, reason));
                    break;
                case { Failure: { } failure }:
                    failures.Add($"{operation}: {failure}");
                    break;
                default:
                    served.Add(operation);
                    if (operation.SuccessSchema is { } schema && outcome.Body is not null)
                    {
                        foreach (var error in OpenApiContract.Validate(schema, outcome.Body))
                            failures.Add($"{operation}: response breaks the contract: {error}\n  body: {Shorten(outcome.Body.ToJsonString())}");
                        // Some list operations give the entity's schema where the page's belongs (GET /services);
                        // then every listed entity must match it, so a list cannot escape the check.
                        if (schema["properties"]?["data"] is null && outcome.Body["data"] is JsonArray items)
                        {
                            foreach (var item in items)
                            {
                                foreach (var error in OpenApiContract.Validate(schema, item))
                                    failures.Add($"{operation}: listed entity breaks the contract: {error}");
                            }
                        }
                    }
                    break;
            }
        }

        output.WriteLine($"{served.Count} operations served and checked on {node.Store}:");
        foreach (var operation in served)
            output.WriteLine($"  {operation}");
        output.WriteLine($"{unserved.Count} operations not served:");
        foreach (var (operation, reason) in unserved)
            output.WriteLine($"  {operation}: {reason}");

        var documented = await File.ReadAllTextAsync(RepositoryFiles.PathOf("docs/admin-api.md"));
        foreach (var (operation, reason) in unserved)
        {
            if (!documented.Contains($"`{operation}`", StringComparison.Ordinal))
                failures.Add($"{operation} is not served ({reason}) and docs/admin-api.md does not list it");
        }
        Assert.True(served.Count > 0, "no operation of the contract was served");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    private static string Shorten(string text) => text.Length <= 600 ? text : text[..600] + "…";
}

public sealed class SqliteContractTests(SqliteAdminNode node, ITestOutputHelper output)
    : ContractTests<SqliteAdminNode>(node, output), IClassFixture<SqliteAdminNode>;

public sealed class PostgresContractTests(PostgresAdminNode node, ITestOutputHelper output)
    : ContractTests<PostgresAdminNode>(node, output), IClassFixture<PostgresAdminNode>;

/// <summary>What calling one operation gave: a body to check, a reason it is not served, or a failure.</summary>
internal sealed record ContractOutcome(JsonNode? Body, string? Unserved = null, string? Failure = null);

/// <summary>
/// Builds the entities each operation's path names (a fresh set per operation, so a DELETE or PUT
/// disturbs nothing else) and a valid body for each entity, then calls the operation.
/// </summary>
internal sealed class ContractWorld(AdminNode node)
{
    private int _counter;
    private string? _pluginName;

    private int Next() => Interlocked.Increment(ref _counter);

    public async Task<ContractOutcome> CallAsync(ContractOperation operation)
    {
        var segments = operation.Path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (segments.Any(s => s.Contains('{') && !(s.StartsWith('{') && s.EndsWith('}'))))
            return new ContractOutcome(null, Unserved: "the contract's path is malformed (a parameter glued to a segment)");
        var url = new StringBuilder();
        for (var i = 0; i < segments.Length; i++)
        {
            var segment = segments[i];
            if (!segment.StartsWith('{'))
            {
                url.Append('/').Append(segment);
                continue;
            }
            var collection = i > 0 && !segments[i - 1].StartsWith('{') ? segments[i - 1] : null;
            var (value, problem) = await ParameterAsync(segments, i, collection, url.ToString());
            if (problem is not null)
                return problem;
            url.Append('/').Append(Uri.EscapeDataString(value!));
        }

        var method = new HttpMethod(operation.Method);
        HttpContent? content = null;
        if (operation.Method is "POST" or "PUT" or "PATCH")
        {
            var body = await BodyForAsync(segments) ?? new JsonObject();
            content = JsonContent.Create(body);
        }
        using var request = new HttpRequestMessage(method, url.ToString()) { Content = content };
        using var response = await node.Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        var status = (int)response.StatusCode;
        if (status is 404 or 405)
            return new ContractOutcome(null, Unserved: $"{status} {text}");
        // /config serves only nodes without a database (tests/DbLess); here it must give Kong's refusal.
        if (status == 400 && text.Contains("only available when Kong is configured to not use a database", StringComparison.Ordinal))
            return new ContractOutcome(null, Unserved: "served only without a database");
        // /clustering/* serve only control planes (their bodies are checked in Clustering/RegistryEndpointTests).
        if (status == 400 && text.Contains("only available when Gantry runs as a control plane", StringComparison.Ordinal))
            return new ContractOutcome(null, Unserved: "served only on a control plane");
        if (status is < 200 or > 299)
            return new ContractOutcome(null, Failure: $"{method} {url} answered {status} {text}");
        return new ContractOutcome(text.Length == 0 ? null : JsonNode.Parse(text));
    }

    /// <summary>A value for the path parameter at <paramref name="index"/>, creating the entity it names.</summary>
    /// <param name="collectionPath">The path so far, ending in the collection (<c>/services/{id}/routes</c>): where to create it.</param>
    private async Task<(string? Value, ContractOutcome? Problem)> ParameterAsync(string[] segments, int index, string? collection, string collectionPath)
    {
        if (collection is null)
        {
            // '/{endpoint}' means any endpoint; anything else after a parameter is not a path Kong serves either.
            return index == 0 ? ("services", null) : (null, new ContractOutcome(null, Unserved: "the contract's path has two parameters in a row"));
        }
        switch (collection)
        {
            case "schemas":
                return ("services", null);
            case "plugins" when index >= 2 && segments[index - 2] == "schemas":
                return (await PluginNameAsync() ?? "key-auth", null);
            case "vaults" when index >= 2 && segments[index - 2] == "schemas":
                return ("env", null);
            case "filters":
                return ("no-such-filter", null);
            case "tags":
                var tag = $"contract-{Next()}";
                var service = (await FixtureAsync("services"))!;
                service["tags"] = new JsonArray(tag);
                var tagged = await CreateAsync("/services", "services", service);
                return tagged.Problem is null ? (tag, null) : tagged;
            case "log-level":
                return ("notice", null);
            case "cache":
                return ("contract-key", null);
        }
        // An entity: created at the top level, or under the parent the path names.
        return await CreateAsync(collectionPath, collection, null);
    }

    private async Task<(string? Value, ContractOutcome? Problem)> CreateAsync(string collectionPath, string collection, JsonObject? body)
    {
        body ??= await FixtureAsync(collection);
        if (body is null)
        {
            // A collection Gantry serves but this test has no valid body for is a gap in the test, not in Gantry.
            var probe = await node.SendAsync(HttpMethod.Get, "/" + collection);
            return probe.Status == 404
                ? (null, new ContractOutcome(null, Unserved: $"needs {collection}, which is not served"))
                : (null, new ContractOutcome(null, Failure: $"no fixture for {collection}: add one to ContractWorld"));
        }
        var (status, created) = await node.PostJsonAsync(collectionPath, body);
        if (status is 404 or 405)
            return (null, new ContractOutcome(null, Unserved: $"needs POST {collectionPath}, which answered {status}"));
        if (status != 201)
            return (null, new ContractOutcome(null, Failure: $"could not create the fixture: POST {collectionPath} {body.ToJsonString()} answered {status} {created?.ToJsonString()}"));
        return (created!["id"]!.GetValue<string>(), null);
    }

    /// <summary>The body for a write to the collection the path ends in (its last literal segment).</summary>
    private async Task<JsonObject?> BodyForAsync(string[] segments)
    {
        var literals = segments.Where(s => !s.StartsWith('{')).ToArray();
        if (literals is ["schemas", _, "validate"] or ["schemas", "validate"])
            return literals[1] == "plugins" ? await FixtureAsync("plugins") : await FixtureAsync("services");
        return literals.Length == 0 ? null : await FixtureAsync(literals[^1]);
    }

    /// <summary>A valid, unique body for a new entity of the collection; null when this test has none.</summary>
    private async Task<JsonObject?> FixtureAsync(string collection)
    {
        var n = Next();
        switch (collection)
        {
            case "services":
                return new JsonObject { ["name"] = $"contract-svc-{n}", ["host"] = "example.test", ["path"] = "/api", ["tags"] = new JsonArray("contract") };
            case "routes":
                return new JsonObject { ["name"] = $"contract-route-{n}", ["paths"] = new JsonArray($"/contract/{n}") };
            case "consumers":
                return new JsonObject { ["username"] = $"contract-user-{n}", ["custom_id"] = $"contract-{n}" };
            case "upstreams":
                return new JsonObject { ["name"] = $"contract-up-{n}.test" };
            case "targets":
                return new JsonObject { ["target"] = $"10.{n / 65536 % 256}.{n / 256 % 256}.{n % 256}:8080", ["weight"] = 50 };
            case "certificates":
                var (cert, key) = Pem.SelfSigned($"contract-{n}.test", ca: false);
                return new JsonObject { ["cert"] = cert, ["key"] = key };
            case "ca_certificates":
                return new JsonObject { ["cert"] = Pem.SelfSigned($"contract-ca-{n}.test", ca: true).Cert };
            case "snis":
                var certificate = await CreateAsync("/certificates", "certificates", null);
                return certificate.Value is null ? null : new JsonObject { ["name"] = $"sni-{n}.contract.test", ["certificate"] = new JsonObject { ["id"] = certificate.Value } };
            case "key-sets":
                return new JsonObject { ["name"] = $"contract-keyset-{n}" };
            case "keys":
                return new JsonObject { ["name"] = $"contract-key-{n}", ["kid"] = $"kid-{n}", ["jwk"] = Pem.Jwk($"kid-{n}") };
            case "vaults":
                return new JsonObject { ["name"] = "env", ["prefix"] = $"contract-env-{n}" };
            case "plugins":
                // Each plugin on a service of its own: a second global plugin of one name would clash.
                var name = await PluginNameAsync();
                if (name is null)
                    return null;
                var service = await CreateAsync("/services", "services", null);
                return service.Value is null ? null : new JsonObject { ["name"] = name, ["service"] = new JsonObject { ["id"] = service.Value } };
            default:
                return null;
        }
    }

    /// <summary>A plugin the node offers whose defaults make a valid configuration; null when none is offered.</summary>
    private async Task<string?> PluginNameAsync()
    {
        if (_pluginName is not null)
            return _pluginName;
        var (_, root) = await node.SendAsync(HttpMethod.Get, "/");
        var available = root?["plugins"]?["available_on_server"]?.AsObject().Select(p => p.Key).ToHashSet() ?? [];
        string[] preferred = ["correlation-id", "request-id", "cors", "key-auth", "basic-auth", "acl", "rate-limiting"];
        _pluginName = preferred.FirstOrDefault(available.Contains) ?? available.Order(StringComparer.Ordinal).FirstOrDefault();
        return _pluginName;
    }
}

/// <summary>Key material for certificate, CA certificate and key fixtures, made on the spot.</summary>
internal static class Pem
{
    public static (string Cert, string Key) SelfSigned(string subject, bool ca)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={subject}", key, HashAlgorithmName.SHA256);
        if (ca)
        {
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        }
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
        return (certificate.ExportCertificatePem(), key.ExportPkcs8PrivateKeyPem());
    }

    public static string Jwk(string kid)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var parameters = key.ExportParameters(false);
        return new JsonObject
        {
            ["kty"] = "EC",
            ["crv"] = "P-256",
            ["kid"] = kid,
            ["x"] = Base64Url(parameters.Q.X!),
            ["y"] = Base64Url(parameters.Q.Y!),
        }.ToJsonString();
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
