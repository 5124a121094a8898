using Gantry.Plugins.Pipeline;

namespace Gantry.Plugins.OAuth2;

/// <summary>One oauth2 instance's config, read once when the snapshot is built.</summary>
public sealed record OAuth2Settings
{
    public required Guid PluginId { get; init; }
    public required string[]? Scopes { get; init; }
    public required bool MandatoryScope { get; init; }
    public required string ProvisionKey { get; init; }
    public required long TokenExpiration { get; init; }
    public required bool EnableAuthorizationCode { get; init; }
    public required bool EnableImplicitGrant { get; init; }
    public required bool EnableClientCredentials { get; init; }
    public required bool EnablePasswordGrant { get; init; }
    public required bool HideCredentials { get; init; }
    public required bool AcceptHttpIfAlreadyTerminated { get; init; }
    public required bool GlobalCredentials { get; init; }
    public required string AuthHeaderName { get; init; }
    public required long RefreshTokenTtl { get; init; }
    public required bool ReuseRefreshToken { get; init; }
    public required string Pkce { get; init; }
    public required string Realm { get; init; }

    public static OAuth2Settings From(PluginConfig config) => new()
    {
        PluginId = config.Id,
        Scopes = config.Values["scopes"] is System.Text.Json.Nodes.JsonArray ? config.Strings("scopes", []) : null,
        MandatoryScope = config.Flag("mandatory_scope", false),
        ProvisionKey = config.Text("provision_key") ?? "",
        TokenExpiration = (long)config.Number("token_expiration", 7200),
        EnableAuthorizationCode = config.Flag("enable_authorization_code", false),
        EnableImplicitGrant = config.Flag("enable_implicit_grant", false),
        EnableClientCredentials = config.Flag("enable_client_credentials", false),
        EnablePasswordGrant = config.Flag("enable_password_grant", false),
        HideCredentials = config.Flag("hide_credentials", false),
        AcceptHttpIfAlreadyTerminated = config.Flag("accept_http_if_already_terminated", false),
        GlobalCredentials = config.Flag("global_credentials", false),
        AuthHeaderName = config.Text("auth_header_name") ?? "authorization",
        RefreshTokenTtl = (long)config.Number("refresh_token_ttl", 1209600),
        ReuseRefreshToken = config.Flag("reuse_refresh_token", false),
        Pkce = config.Text("pkce") ?? "lax",
        Realm = config.Text("realm") ?? "service",
    };

    /// <summary>
    /// The row lifetime of a new token: a token with a refresh token lives as long as the refresh token
    /// (refresh_token_ttl, 0 for ever), one without as long as it is valid; a token that never expires stays.
    /// </summary>
    public long? TokenRowTtl(bool withRefresh) =>
        TokenExpiration <= 0 ? null
        : withRefresh ? (RefreshTokenTtl > 0 ? Math.Max(RefreshTokenTtl, TokenExpiration) : null)
        : TokenExpiration;
}
