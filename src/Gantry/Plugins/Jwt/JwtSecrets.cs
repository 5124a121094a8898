using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Gantry.Entities.Schema;
using static Gantry.Entities.Definitions.CommonFields;
using static Gantry.Plugins.PluginFields;

namespace Gantry.Plugins.Jwt;

/// <summary>A consumer's JWT issuers and their secrets or public keys: <c>/jwts</c> and <c>/consumers/{c}/jwt</c>.</summary>
public static class JwtSecrets
{
    public static readonly string[] Algorithms =
        ["HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "EdDSA"];

    public static EntitySchema Schema { get; } = new("jwt_secrets",
    [
        .. CredentialHead(),
        new Field("key", FieldKind.String) { Unique = true, Auto = AutoValue.RandomString },
        new Field("secret", FieldKind.String) { Auto = AutoValue.RandomString },
        new Field("rsa_public_key", FieldKind.String),
        String("algorithm", "HS256", oneOf: Algorithms),
        Tags(),
    ])
    {
        Table = "jwt_secrets",
        Path = "jwts",
        NestedPath = "jwt",
        EndpointKey = "key",
        EntityChecks = [PublicKeyCheck],
    };

    /// <summary>Asymmetric algorithms verify with the public key, so it must be there and must parse as PEM.</summary>
    private static IEnumerable<(string?, string)> PublicKeyCheck(JsonObject secret)
    {
        var algorithm = secret["algorithm"]?.GetValue<string>() ?? "HS256";
        if (algorithm.StartsWith("HS", StringComparison.Ordinal))
            yield break;
        if (secret["rsa_public_key"]?.GetValue<string>() is not { Length: > 0 } pem)
        {
            yield return ("rsa_public_key", "required field missing");
            yield break;
        }
        if (!Parses(algorithm, pem))
            yield return ("rsa_public_key", $"invalid key for algorithm {algorithm}");
    }

    private static bool Parses(string algorithm, string pem)
    {
        try
        {
            if (algorithm.StartsWith("ES", StringComparison.Ordinal))
            {
                using var ec = ECDsa.Create();
                ec.ImportFromPem(pem);
            }
            else if (algorithm == "EdDSA")
            {
                // .NET has no Ed25519 type; the PEM envelope is all that can be checked here.
                return PemEncoding.TryFind(pem, out _);
            }
            else
            {
                using var rsa = RSA.Create();
                rsa.ImportFromPem(pem);
            }
            return true;
        }
        catch (Exception e) when (e is ArgumentException or CryptographicException)
        {
            return false;
        }
    }
}
