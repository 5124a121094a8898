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
        new Field("jwk", FieldKind.String) { Secret = true },
        new Field("pem", FieldKind.Record)
        {
            Fields =
            [
                new Field("private_key", FieldKind.String) { Secret = true },
                new Field("public_key", FieldKind.String),
            ],
            Check = PemPairError,
        },
        Tags(),
    ])
    {
        Table = "keys",
        EndpointKey = "name",
        UniqueTogether = [["kid", "set"]],
        OnParentDelete = new Dictionary<string, ParentDelete> { ["set"] = ParentDelete.Cascade },
        ReadingChecks = Checks,
    };

    /// <summary>
    /// Each key must load, and a pair must be one key (Kong's messages name the key, not the parser's reason).
    /// A record with neither is a rule of the record, reported by <see cref="Check"/>.
    /// </summary>
    private static string? PemPairError(JsonNode value)
    {
        var publicPem = value["public_key"] is JsonValue pub ? pub.GetValue<string>() : null;
        var privatePem = value["private_key"] is JsonValue pri ? pri.GetValue<string>() : null;
        if ((publicPem is not null && IsVaultReference(publicPem)) || (privatePem is not null && IsVaultReference(privatePem)))
            return null;
        using var publicKey = publicPem is null ? null : PemMaterial.Key(publicPem, out _);
        if (publicPem is not null && publicKey is null)
            return "could not load public key";
        using var privateKey = privatePem is null ? null : PemMaterial.Key(privatePem, out _);
        if (privatePem is not null && privateKey is null)
            return "could not load private key";
        if (publicKey is not null && privateKey is not null
            && !PemMaterial.PublicKeyInfo(privateKey).AsSpan().SequenceEqual(PemMaterial.PublicKeyInfo(publicKey)))
            return "public key does not match private key";
        return null;
    }

    /// <summary>
    /// Kong's three rules, each run unless a field it reads is invalid: the two formats exclude each other, one
    /// is needed, then the JWK must parse and agree on its kid.
    /// </summary>
    // A property: the schema above is built before static fields below it are initialized.
    private static ReadingCheck[] Checks =>
    [
        new(["jwk", "pem"], key => IsSet(key["jwk"]) && IsSet(key["pem"]) ? [(null, "only one or none of these fields must be set: 'jwk', 'pem'")] : []),
        new(["jwk", "pem"], key => AtLeastOneOf(key, "jwk", "pem") is { } error ? [error] : []),
        new(["jwk", "pem", "kid"], FormatCheck),
    ];

    private static IEnumerable<(string?, string)> FormatCheck(JsonObject key)
    {
        var hasJwk = IsSet(key["jwk"]);
        var hasPem = IsSet(key["pem"]);
        if (hasPem && !IsSet(key["pem"]!["private_key"]) && !IsSet(key["pem"]!["public_key"]))
            return [("pem.@entity", "at least one of these fields must be non-empty: 'private_key', 'public_key'")];
        if (hasJwk && key["jwk"]!.GetValue<string>() is var jwk && !IsVaultReference(jwk))
        {
            JsonNode? parsed;
            try
            {
                parsed = JsonNode.Parse(jwk);
            }
            catch (JsonException)
            {
                parsed = null;
            }
            if (parsed is not JsonObject)
                return [(null, "could not json decode jwk string")];
            if (parsed["kid"] is not JsonValue k || !k.TryGetValue(out string? jwkKid) || jwkKid != key["kid"]!.GetValue<string>())
                return [(null, "kid in jwk.kid must be equal to keys.kid")];
        }
        return [];
    }
}
