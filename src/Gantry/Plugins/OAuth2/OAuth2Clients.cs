using System.Collections.Frozen;
using System.Text.Json.Nodes;

namespace Gantry.Plugins.OAuth2;

/// <summary>An application (oauth2 credential) as the endpoints and the token check read it.</summary>
public sealed record OAuth2Client(Guid Id, Guid Consumer, string ClientId, string? Secret, string[] RedirectUris, bool Public);

/// <summary>The applications of the snapshot, by client_id and by id, built once for every oauth2 instance.</summary>
public sealed class OAuth2Clients
{
    private readonly FrozenDictionary<string, OAuth2Client> _byClientId;
    private readonly FrozenDictionary<Guid, OAuth2Client> _byId;

    public OAuth2Clients(IReadOnlyList<JsonObject> credentials)
    {
        var clients = new List<OAuth2Client>(credentials.Count);
        foreach (var row in credentials)
        {
            if (row["consumer"]?["id"] is not JsonValue consumer || row["client_id"] is not JsonValue clientId)
                continue;
            clients.Add(new OAuth2Client(
                Guid.Parse(row["id"]!.GetValue<string>()),
                Guid.Parse(consumer.GetValue<string>()),
                clientId.GetValue<string>(),
                row["client_secret"] is JsonValue secret ? secret.GetValue<string>() : null,
                row["redirect_uris"] is JsonArray uris ? [.. uris.Select(u => u!.GetValue<string>())] : [],
                row["client_type"] is JsonValue type && type.GetValue<string>() == "public"));
        }
        _byClientId = clients.ToFrozenDictionary(c => c.ClientId, StringComparer.Ordinal);
        _byId = clients.ToFrozenDictionary(c => c.Id);
    }

    public OAuth2Client? ByClientId(string? clientId) => clientId is null ? null : _byClientId.GetValueOrDefault(clientId);

    public OAuth2Client? ById(Guid id) => _byId.GetValueOrDefault(id);
}
