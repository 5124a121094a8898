using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Gantry.Entities.Schema;
using static Gantry.Entities.Definitions.CommonFields;
using static Gantry.Plugins.PluginFields;

namespace Gantry.Plugins.BasicAuth;

/// <summary>
/// A consumer's usernames and passwords: <c>/basic-auths</c> and <c>/consumers/{c}/basic-auth</c>. The
/// password is stored, and shown, only as the SHA-1 hex digest of password + consumer id, which is what
/// the proxy compares and what Kong's databases and exports hold, so both can be moved between them.
/// </summary>
public static class BasicAuthCredentials
{
    public static EntitySchema Schema { get; } = new("basicauth_credentials",
    [
        .. CredentialHead(),
        new Field("username", FieldKind.String) { Required = true, Unique = true, MinLength = 1 },
        new Field("password", FieldKind.String) { Required = true, MinLength = 1 },
        Tags(),
    ])
    {
        Table = "basicauth_credentials",
        Path = "basic-auths",
        NestedPath = "basic-auth",
        EndpointKey = "username",
        OnWrite = HashPassword,
    };

    /// <summary>Hashes the password the client sent; a stored hash is left alone.</summary>
    private static void HashPassword(JsonObject input, JsonObject credential)
    {
        if (input["password"] is not JsonValue clear || !clear.TryGetValue(out string? password))
            return;
        var consumerId = credential["consumer"]?["id"]?.GetValue<string>() ?? "";
        credential["password"] = Hash(password, consumerId);
    }

    public static string Hash(string password, string consumerId) =>
        Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes(password + consumerId)));
}
