using Gantry.Entities.Schema;
using static Gantry.Entities.Definitions.CommonFields;

namespace Gantry.Plugins.OAuth2;

/// <summary>
/// The codes /oauth2/authorize hands out for the authorization code grant. Not served by the Admin API
/// and not in any snapshot: a code lives for <see cref="Lifetime"/> seconds, between the authorize and
/// the token calls, and is deleted when redeemed. The schema serves only the store's one write path.
/// </summary>
public static class OAuth2AuthorizationCodes
{
    /// <summary>Seconds a code may wait for its token call, as in Kong.</summary>
    public const long Lifetime = 300;

    public static EntitySchema Schema { get; } = new("oauth2_authorization_codes",
    [
        Id(),
        CreatedAt(),
        Foreign("credential", "oauth2_credentials", required: true),
        Foreign("service", "services"),
        Foreign("plugin", "plugins"),
        new Field("code", FieldKind.String) { Required = true, Unique = true },
        new Field("authenticated_userid", FieldKind.String),
        new Field("scope", FieldKind.String),
        new Field("challenge", FieldKind.String),
        new Field("challenge_method", FieldKind.String),
        new Field("ttl", FieldKind.Integer),
    ])
    {
        Table = "oauth2_authorization_codes",
        ReadOnRequest = true,
    };
}
