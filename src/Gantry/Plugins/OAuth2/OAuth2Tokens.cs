using Gantry.Entities.Schema;
using static Gantry.Entities.Definitions.CommonFields;

namespace Gantry.Plugins.OAuth2;

/// <summary>
/// Access tokens issued by the oauth2 plugin: <c>/oauth2_tokens</c>. Authorization codes live in their own
/// table (see <see cref="OAuth2Migrations"/>) and have no Admin API: they exist for seconds, between the
/// authorize and the token calls.
/// </summary>
public static class OAuth2Tokens
{
    public static EntitySchema Schema { get; } = new("oauth2_tokens",
    [
        Id(),
        CreatedAt(),
        Foreign("credential", "oauth2_credentials", required: true),
        Foreign("service", "services"),
        new Field("access_token", FieldKind.String) { Required = true, Unique = true, Auto = AutoValue.RandomString },
        new Field("refresh_token", FieldKind.String) { Unique = true },
        String("token_type", "bearer", oneOf: ["bearer"], describedRequired: true),
        Integer("expires_in", required: true),
        new Field("scope", FieldKind.String),
        new Field("authenticated_userid", FieldKind.String),
        // Unix seconds after which the row is gone; the proxy skips expired rows until they are purged.
        new Field("ttl", FieldKind.Integer),
    ])
    {
        Table = "oauth2_tokens",
        EndpointKey = "access_token",
        ReadOnRequest = true,
    };
}
