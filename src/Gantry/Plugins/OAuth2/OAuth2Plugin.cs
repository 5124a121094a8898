using System.Text.Json.Nodes;
using Gantry.Entities.Schema;
using static Gantry.Plugins.PluginFields;

namespace Gantry.Plugins.OAuth2;

/// <summary>oauth2: Gantry is the authorization server (authorize and token endpoints under each route).</summary>
public static class OAuth2Plugin
{
    public static IReadOnlyList<Field> Config { get; } =
    [
        NonEmptyStrings("scopes"),
        Flag("mandatory_scope", false),
        // Identifies the plugin instance to the application that calls /oauth2/authorize.
        new Field("provision_key", FieldKind.String) { Required = true, Auto = AutoValue.RandomString },
        Number("token_expiration", 7200),
        Flag("enable_authorization_code", false),
        Flag("enable_implicit_grant", false),
        Flag("enable_client_credentials", false),
        Flag("enable_password_grant", false),
        Flag("hide_credentials", false),
        Flag("accept_http_if_already_terminated", false),
        Anonymous(),
        Flag("global_credentials", false),
        NonEmptyText("auth_header_name", "authorization"),
        Number("refresh_token_ttl", 1209600, 0, 100000000),
        Flag("reuse_refresh_token", false),
        Flag("persistent_refresh_token", false),
        Text("pkce", "lax", oneOf: ["none", "lax", "strict"]),
        Realm(),
    ];

    public static PluginDescriptor Descriptor { get; } = new("oauth2", Bundled: true, OAuth2Migrations.Subsystem)
    {
        Priority = 1400,
        Config = Config,
        ConfigChecks = [AtLeastOneGrant, RequiredByCondition("mandatory_scope", "true", "scopes", ofConfigRecord: true)],
        NoConsumer = true,
        Entities = [OAuth2Credentials.Schema, OAuth2Tokens.Schema],
        InternalEntities = [OAuth2AuthorizationCodes.Schema],
        Handler = (config, setup) => new OAuth2Handler(config, setup),
    };

    private static readonly string[] Grants = ["enable_authorization_code", "enable_implicit_grant", "enable_client_credentials", "enable_password_grant"];

    /// <summary>An instance that grants no token would refuse every request; Kong reports it on the config record.</summary>
    private static IEnumerable<(string?, string)> AtLeastOneGrant(JsonObject config) =>
        Grants.Any(grant => config[grant] is JsonValue flag && flag.TryGetValue(out bool on) && on)
            ? []
            : [("", $"at least one of these fields must be true: {string.Join(", ", Grants)}")];
}
