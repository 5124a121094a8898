using System.Text.Json;
using System.Text.Json.Nodes;
using Gantry.Entities.Schema;
using static Gantry.Entities.Definitions.CommonFields;

namespace Gantry.Entities.Definitions;

/// <summary>Keys: one key, given either as a JWK (a JSON string) or as PEM, identified by its kid within its set.</summary>
public static class Keys
{
    public static EntitySchema Schema { get; } = new("keys",
    [
        Id(),
        CreatedAt(),
        UpdatedAt(),
        Foreign("set", "key_sets"),
        new Field("name", FieldKind.String) { Unique = true, MinLength = 1 },
        new Field("kid", FieldKind.String) { Required = true, MinLength = 1 },
        new Field("jwk", FieldKind.String) { Secret = true, Check = JwkError },
        new Field("pem", FieldKind.Record)
        {
            Fields =
            [
                new Field("private_key", FieldKind.String) { Secret = true, Check = PemKeyError },
                new Field("public_key", FieldKind.String) { Check = PemKeyError },
            ],
            Check = pem => AtLeastOneOf(pem.AsObject(), "private_key", "public_key")?.Item2,
        },
        Tags(),
    ])
    {
        Table = "keys",
        EndpointKey = "name",
        UniqueTogether = [["kid", "set"]],
        OnParentDelete = new Dictionary<string, ParentDelete> { ["set"] = ParentDelete.Cascade },
        EntityChecks = [Check],
    };

    private static string? JwkError(JsonNode value)
    {
        var text = value.GetValue<string>();
        if (IsVaultReference(text))
            return null;
        try
        {
            return JsonNode.Parse(text) is JsonObject ? null : "could not json decode jwk string";
        }
        catch (JsonException)
        {
            return "could not json decode jwk string";
        }
    }

    private static string? PemKeyError(JsonNode value)
    {
        var text = value.GetValue<string>();
        if (IsVaultReference(text))
            return null;
        using var key = PemMaterial.Key(text, out var error);
        return error;
    }

    private static IEnumerable<(string?, string)> Check(JsonObject key)
    {
        var hasJwk = IsSet(key["jwk"]);
        var hasPem = IsSet(key["pem"]);
        if (hasJwk == hasPem)
        {
            yield return (null, "exactly one of these fields must be non-empty: 'jwk', 'pem'");
            yield break;
        }
        if (hasJwk && key["jwk"]!.GetValue<string>() is var jwk && !IsVaultReference(jwk))
        {
            var kid = JsonNode.Parse(jwk)?["kid"];
            if (kid is not JsonValue k || !k.TryGetValue(out string? jwkKid) || jwkKid != key["kid"]!.GetValue<string>())
                yield return (null, "kid in jwk.kid must be equal to keys.kid");
        }
        if (hasPem && key["pem"]!["private_key"]?.GetValue<string>() is { } privatePem && key["pem"]!["public_key"]?.GetValue<string>() is { } publicPem
            && !IsVaultReference(privatePem) && !IsVaultReference(publicPem))
        {
            using var privateKey = PemMaterial.Key(privatePem, out _);
            using var publicKey = PemMaterial.Key(publicPem, out _);
            if (privateKey is not null && publicKey is not null
                && !PemMaterial.PublicKeyInfo(privateKey).AsSpan().SequenceEqual(PemMaterial.PublicKeyInfo(publicKey)))
                yield return ("pem", "public key does not match private key");
        }
    }
}
