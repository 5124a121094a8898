using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Gantry.Entities.Schema;

namespace Gantry.Entities.Records;

/// <summary>
/// Reads stored entities into the typed records the snapshot is built from. A row first takes the
/// schema's defaults for every field it lacks (a row written by an older release, or by hand), so the
/// records carry no defaults of their own; then it is deserialized strictly: a missing required value,
/// a null where none is allowed or a value of the wrong type is an <see cref="InvalidEntityException"/>
/// naming the entity, never a crash of the whole build.
/// </summary>
public static class EntityRecords
{
    private static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowReadingFromString,
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip,
    };

    /// <exception cref="InvalidEntityException">The row does not fit the record.</exception>
    public static T Read<T>(EntitySchema schema, JsonObject row) where T : class
    {
        SchemaValidator.FillDefaults(schema, row);
        try
        {
            return row.Deserialize<T>(Options) ?? throw new JsonException("the row is empty");
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException or ArgumentException)
        {
            throw new InvalidEntityException(schema.Name, IdOf(row), e.Message, e);
        }
    }

    /// <summary>The row's id as text, or "(no id)": for messages about rows that do not read.</summary>
    public static string IdOf(JsonObject row) => row["id"] is JsonValue id && id.TryGetValue(out string? text) ? text : "(no id)";
}

/// <summary>A stored entity the node cannot use: it is skipped and reported, the rest of the configuration applies.</summary>
public sealed class InvalidEntityException(string entity, string id, string reason, Exception? inner = null)
    : Exception($"{entity} {id}: {reason}", inner)
{
    public string Entity { get; } = entity;
    public string Id { get; } = id;
    public string Reason { get; } = reason;
}

/// <summary>A foreign key as stored: <c>{"id": "…"}</c>.</summary>
public sealed record EntityRef(Guid Id);

public sealed record ServiceRecord(Guid Id, string? Name, string Protocol, string Host, int Port, string? Path, int Retries,
    int ConnectTimeout, int WriteTimeout, int ReadTimeout, bool Enabled);

/// <param name="Expression">Set only under router_flavor = expressions, whose schema has the field.</param>
/// <param name="Priority">The expression's rank (higher first); 0 when the schema has no such field.</param>
public sealed record RouteRecord(Guid Id, string? Name, IReadOnlyList<string> Protocols, IReadOnlyList<string>? Methods,
    IReadOnlyList<string>? Hosts, IReadOnlyList<string>? Paths, IReadOnlyDictionary<string, IReadOnlyList<string>>? Headers,
    IReadOnlyList<string>? Snis, int RegexPriority, bool StripPath, bool PreserveHost, string PathHandling, int HttpsRedirectStatusCode,
    EntityRef? Service, double CreatedAt, string? Expression = null, long Priority = 0,
    IReadOnlyList<RouteEndpointRecord>? Sources = null, IReadOnlyList<RouteEndpointRecord>? Destinations = null);

/// <summary>An element of a route's sources or destinations.</summary>
public sealed record RouteEndpointRecord(string? Ip = null, int? Port = null);

public sealed record TargetRecord(Guid Id, EntityRef Upstream, string Target, int Weight);

public sealed record UpstreamRecord(Guid Id, string Name, string Algorithm, string HashOn, string HashFallback,
    string? HashOnHeader, string? HashFallbackHeader, string? HashOnCookie, string HashOnCookiePath, string? HashOnQueryArg,
    string? HashFallbackQueryArg, string? HashOnUriCapture, string? HashFallbackUriCapture, int Slots, HealthchecksRecord Healthchecks,
    string? HostHeader);

public sealed record HealthchecksRecord(ActiveCheckRecord Active, PassiveCheckRecord Passive, double Threshold);

public sealed record ActiveCheckRecord(string Type, double Timeout, long Concurrency, string HttpPath, string? HttpsSni,
    bool HttpsVerifyCertificate, IReadOnlyDictionary<string, IReadOnlyList<string>>? Headers, ActiveHealthyRecord Healthy,
    ActiveUnhealthyRecord Unhealthy);

public sealed record ActiveHealthyRecord(double Interval, IReadOnlyList<int> HttpStatuses, int Successes);

public sealed record ActiveUnhealthyRecord(double Interval, IReadOnlyList<int> HttpStatuses, int TcpFailures, int Timeouts, int HttpFailures);

public sealed record PassiveCheckRecord(string Type, PassiveHealthyRecord Healthy, PassiveUnhealthyRecord Unhealthy);

public sealed record PassiveHealthyRecord(IReadOnlyList<int> HttpStatuses, int Successes);

public sealed record PassiveUnhealthyRecord(IReadOnlyList<int> HttpStatuses, int TcpFailures, int Timeouts, int HttpFailures);

public sealed record CertificateRecord(Guid Id, string Cert, string Key, double CreatedAt, double? UpdatedAt);

public sealed record SniRecord(Guid Id, string Name, EntityRef Certificate);

public sealed record ConsumerRecord(Guid Id, string? Username, string? CustomId);

public sealed record PluginRecord(Guid Id, string Name, JsonObject Config, IReadOnlyList<string> Protocols, bool Enabled,
    EntityRef? Route, EntityRef? Service, EntityRef? Consumer);
