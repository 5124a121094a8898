using System.Text.Json.Nodes;
using Gantry.Entities.Schema;
using static Gantry.Entities.Definitions.CommonFields;

namespace Gantry.Entities.Definitions;

/// <summary>
/// Certificates: a certificate and its key, optionally a second pair of another key type (RSA next to
/// ECDSA). The transient <c>snis</c> list creates and replaces the SNI entities that point at it.
/// </summary>
public static class Certificates
{
    public static EntitySchema Schema { get; } = new("certificates",
    [
        Id(),
        CreatedAt(),
        UpdatedAt(),
        new Field("cert", FieldKind.String) { Required = true, Check = CertificateError },
        new Field("key", FieldKind.String) { Required = true, Secret = true, Check = KeyError },
        new Field("cert_alt", FieldKind.String) { Check = CertificateError },
        new Field("key_alt", FieldKind.String) { Secret = true, Check = KeyError },
        Tags(),
        new Field("snis", FieldKind.Set) { Transient = true, Elements = SniName("sni") },
    ])
    {
        Table = "certificates",
        OwnedNames = new OwnedNameList("snis", "snis", "certificate", "name"),
        ReadingChecks = Checks,
    };

    private static string? CertificateError(JsonNode value)
    {
        var pem = value.GetValue<string>();
        if (IsVaultReference(pem))
            return null;
        using var certificate = PemMaterial.Certificate(pem, out var error);
        return error;
    }

    private static string? KeyError(JsonNode value)
    {
        var pem = value.GetValue<string>();
        if (IsVaultReference(pem))
            return null;
        using var key = PemMaterial.Key(pem, out var error);
        return error;
    }

    // A property: the schema above is built before static fields below it are initialized.
    private static ReadingCheck[] Checks =>
    [
        new(["cert_alt", "key_alt"], entity => (entity["cert_alt"] is null) != (entity["key_alt"] is null)
            ? [(null, "all or none of these fields must be set: 'cert_alt', 'key_alt'")]
            : []),
        new(["cert", "key"], entity => Pair(entity["cert"], entity["key"]).Mismatch ? [(null, "certificate does not match key")] : []),
        new(["cert_alt", "key_alt"], entity => Pair(entity["cert_alt"], entity["key_alt"]).Mismatch
            ? [(null, "alternative certificate does not match key")]
            : []),
        new(["cert", "cert_alt"], entity => Pair(entity["cert"], null).Type is { } type && Pair(entity["cert_alt"], null).Type == type
            ? [(null, "certificate and alternative certificate need to have different type (e.g. RSA and ECDSA), the provided certificates were both of the same type")]
            : []),
    ];

    /// <summary>
    /// Whether the key belongs to the certificate, and the certificate's key type. Vault references are checked
    /// when resolved; a missing key is no mismatch (the rule that pairs them says so).
    /// </summary>
    private static (bool Mismatch, string? Type) Pair(JsonNode? certNode, JsonNode? keyNode)
    {
        if (certNode?.GetValue<string>() is not { } certPem || IsVaultReference(certPem))
            return (false, null);
        using var certificate = PemMaterial.Certificate(certPem, out _);
        if (certificate is null)
            return (false, null);
        var type = PemMaterial.KeyType(certificate);
        if (keyNode?.GetValue<string>() is not { } keyPem || IsVaultReference(keyPem))
            return (false, type);
        using var key = PemMaterial.Key(keyPem, out _);
        return (key is not null && !PemMaterial.Matches(certificate, key), type);
    }
}
