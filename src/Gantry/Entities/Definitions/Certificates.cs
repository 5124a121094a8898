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
        EntityChecks = [Check],
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

    private static IEnumerable<(string?, string)> Check(JsonObject entity)
    {
        var hasCertAlt = entity["cert_alt"] is not null;
        var hasKeyAlt = entity["key_alt"] is not null;
        if (hasCertAlt != hasKeyAlt)
        {
            yield return (null, "all or none of these fields must be set: 'cert_alt', 'key_alt'");
            yield break;
        }
        var main = Pair(entity["cert"]!.GetValue<string>(), entity["key"]!.GetValue<string>());
        if (main.Mismatch)
            yield return (null, "certificate does not match key");
        if (!hasCertAlt)
            yield break;
        var alternative = Pair(entity["cert_alt"]!.GetValue<string>(), entity["key_alt"]!.GetValue<string>());
        if (alternative.Mismatch)
            yield return (null, "alternative certificate does not match key");
        if (main.Type is not null && main.Type == alternative.Type)
            yield return (null, "certificate and alternative certificate need to have different type (e.g. RSA and ECDSA), the provided certificates were both of the same type");
    }

    /// <summary>Whether the key belongs to the certificate, and the certificate's key type; vault references are checked when resolved.</summary>
    private static (bool Mismatch, string? Type) Pair(string certPem, string keyPem)
    {
        if (IsVaultReference(certPem))
            return (false, null);
        using var certificate = PemMaterial.Certificate(certPem, out _);
        if (certificate is null)
            return (false, null);
        var type = PemMaterial.KeyType(certificate);
        if (IsVaultReference(keyPem))
            return (false, type);
        using var key = PemMaterial.Key(keyPem, out _);
        return (key is not null && !PemMaterial.Matches(certificate, key), type);
    }
}
