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
        new Field("key", FieldKind.String) { Unique = true, Auto = AutoValue.RandomString, MinLength = 1 },
        new Field("secret", FieldKind.String) { Auto = AutoValue.RandomString, MinLength = 1 },
        new Field("rsa_public_key", FieldKind.String) { MinLength = 1 },
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

    /// <summary>
    /// The algorithms whose secret must carry a public key, as Kong lists them: the ES family is not among
    /// them, so an ES secret without a key is stored (and verifies no token).
    /// </summary>
    private static readonly HashSet<string> KeyedAlgorithms = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "EdDSA"];

    /// <summary>
    /// A keyed algorithm needs a public key that loads; like Kong, any key type is taken here (a mismatched key
    /// simply verifies no token), and both the missing and the bad key name the algorithm as the condition.
    /// </summary>
    private static IEnumerable<(string?, string)> PublicKeyCheck(JsonObject secret)
    {
        if (secret["algorithm"]?.GetValue<string>() is not { } algorithm || !KeyedAlgorithms.Contains(algorithm))
            yield break;
        var problem = secret["rsa_public_key"]?.GetValue<string>() switch
        {
            null => "required field missing",
            var pem when !Loads(pem) => "invalid key",
            _ => null,
        };
        if (problem is null)
            yield break;
        yield return ("rsa_public_key", problem);
        yield return (null, ConditionalMessage("algorithm"));
    }

    private static bool Loads(string pem)
    {
        try
        {
            using var rsa = RSA.Create();
            rsa.ImportFromPem(pem);
            return true;
        }
        catch (Exception e) when (e is ArgumentException or CryptographicException)
        {
        }
        try
        {
            using var ec = ECDsa.Create();
            ec.ImportFromPem(pem);
            return true;
        }
        catch (Exception e) when (e is ArgumentException or CryptographicException)
        {
        }
        // .NET has no Ed25519 type: an Ed25519 key is recognised by its PEM envelope and algorithm identifier.
        return PemEncoding.TryFind(pem, out var fields)
            && pem[fields.Label] is "PUBLIC KEY" or "PRIVATE KEY"
            && IsEd25519(Convert.FromBase64String(pem[fields.Base64Data]));
    }

    // The DER of Ed25519's object identifier 1.3.101.112, as SubjectPublicKeyInfo and PKCS#8 carry it.
    private static readonly byte[] Ed25519Oid = [0x06, 0x03, 0x2B, 0x65, 0x70];

    private static bool IsEd25519(byte[] der) => der.AsSpan().IndexOf(Ed25519Oid) >= 0;
}
