using Gantry.Entities.Schema;
using static Gantry.Entities.Definitions.CommonFields;
using static Gantry.Plugins.PluginFields;

namespace Gantry.Plugins.OAuth2;

/// <summary>A consumer's OAuth 2.0 applications: <c>/oauth2</c> and <c>/consumers/{c}/oauth2</c>.</summary>
public static class OAuth2Credentials
{
    public static EntitySchema Schema { get; } = new("oauth2_credentials",
    [
        .. CredentialHead(),
        new Field("name", FieldKind.String) { Required = true, MinLength = 1 },
        new Field("client_id", FieldKind.String) { Required = true, Unique = true, Auto = AutoValue.RandomString, MinLength = 1 },
        new Field("client_secret", FieldKind.String) { Auto = AutoValue.RandomString, MinLength = 1 },
        Boolean("hash_secret", false, describedRequired: true),
        new Field("redirect_uris", FieldKind.Array) { Elements = new Field("redirect_uri", FieldKind.String) { MinLength = 1, Check = UrlError } },
        String("client_type", "confidential", oneOf: ["confidential", "public"], describedRequired: true),
        Tags(),
    ])
    {
        Table = "oauth2_credentials",
        Path = "oauth2",
        NestedPath = "oauth2",
        EndpointKey = "client_id",
        OnWrite = HashSecret,
    };

    /// <summary>With hash_secret, the secret is stored only as its hash (a generated one too); a stored hash is left alone.</summary>
    private static void HashSecret(System.Text.Json.Nodes.JsonObject input, System.Text.Json.Nodes.JsonObject credential)
    {
        if (credential["hash_secret"] is not System.Text.Json.Nodes.JsonValue flag || !flag.TryGetValue(out bool hash) || !hash)
            return;
        if (credential["client_secret"] is System.Text.Json.Nodes.JsonValue value && value.TryGetValue(out string? secret) && !OAuth2Secret.IsHash(secret))
            credential["client_secret"] = OAuth2Secret.Hash(secret);
    }

    /// <summary>A redirect URI is absolute and carries no fragment (RFC 6749 section 3.1.2).</summary>
    private static string? UrlError(System.Text.Json.Nodes.JsonNode value)
    {
        var text = value.GetValue<string>();
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host))
            return $"cannot parse '{text}'";
        return uri.Fragment.Length > 0 ? "fragment not allowed in '" + text + "'" : null;
    }
}
