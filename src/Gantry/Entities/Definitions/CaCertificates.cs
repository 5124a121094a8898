using System.Text.Json.Nodes;
using Gantry.Entities.Schema;
using static Gantry.Entities.Definitions.CommonFields;

namespace Gantry.Entities.Definitions;

/// <summary>
/// CA certificates: trust anchors that services verify upstreams against (by id, in their
/// ca_certificates list). Identified by the SHA-256 of the certificate, so one CA is stored once.
/// </summary>
public static class CaCertificates
{
    public static EntitySchema Schema { get; } = new("ca_certificates",
    [
        Id(),
        CreatedAt(),
        UpdatedAt(),
        new Field("cert", FieldKind.String) { Required = true, Check = CertificateError },
        // Accepted from clients (decK sends back what it dumped) but always recomputed from cert.
        new Field("cert_digest", FieldKind.String) { Unique = true },
        Tags(),
    ])
    {
        Table = "ca_certificates",
        ReadingChecks = [new(["cert"], Check)],
        Normalize = entity =>
        {
            using var certificate = PemMaterial.Certificate(entity["cert"]!.GetValue<string>(), out _);
            entity["cert_digest"] = certificate is null ? null : PemMaterial.Sha256Hex(certificate);
        },
    };

    /// <summary>The PEM must hold a certificate; what kind of certificate it must be is a rule of the entity, as in Kong.</summary>
    private static string? CertificateError(JsonNode value)
    {
        using var certificate = PemMaterial.Certificate(value.GetValue<string>(), out var error);
        return certificate is null ? error : null;
    }

    private static IEnumerable<(string?, string)> Check(JsonObject entity)
    {
        var pem = entity["cert"]!.GetValue<string>();
        if (PemMaterial.CertificateCount(pem) > 1)
            return [(null, "please submit only one certificate at a time")];
        using var certificate = PemMaterial.Certificate(pem, out _);
        if (certificate!.NotAfter.ToUniversalTime() < DateTime.UtcNow)
            return [(null, "certificate expired, \"Not After\" time is in the past")];
        if (!PemMaterial.IsCa(certificate))
            return [(null, "certificate does not appear to be a CA because it is missing the \"CA\" basic constraint")];
        return [];
    }
}
