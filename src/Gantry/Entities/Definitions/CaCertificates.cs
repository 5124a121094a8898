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
        Normalize = entity =>
        {
            using var certificate = PemMaterial.Certificate(entity["cert"]!.GetValue<string>(), out _);
            entity["cert_digest"] = certificate is null ? null : PemMaterial.Sha256Hex(certificate);
        },
    };

    private static string? CertificateError(JsonNode value)
    {
        var pem = value.GetValue<string>();
        if (PemMaterial.CertificateCount(pem) > 1)
            return "please submit only one certificate at a time";
        using var certificate = PemMaterial.Certificate(pem, out var error);
        if (certificate is null)
            return error;
        if (!PemMaterial.IsCa(certificate))
            return "certificate does not appear to be a CA because it is missing the \"CA\" basic constraint";
        if (certificate.NotAfter.ToUniversalTime() < DateTime.UtcNow)
            return "certificate expired, \"Not After\" time is in the past";
        return null;
    }
}
