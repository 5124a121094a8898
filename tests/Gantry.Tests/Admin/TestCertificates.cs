using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Gantry.Tests.Admin;

/// <summary>Self-signed certificates made on the fly, as PEM pairs, for the certificate rules.</summary>
public static class TestCertificates
{
    public sealed record Pair(string Cert, string Key);

    public static Pair Rsa(string subject = "CN=rsa.test") => Make(RSA.Create(2048), subject, ca: false, DateTimeOffset.UtcNow.AddYears(1));

    public static Pair Ecdsa(string subject = "CN=ec.test") => Make(ECDsa.Create(ECCurve.NamedCurves.nistP256), subject, ca: false, DateTimeOffset.UtcNow.AddYears(1));

    public static Pair Ca(string subject = "CN=ca.test") => Make(ECDsa.Create(ECCurve.NamedCurves.nistP256), subject, ca: true, DateTimeOffset.UtcNow.AddYears(1));

    public static Pair ExpiredCa() => Make(ECDsa.Create(ECCurve.NamedCurves.nistP256), "CN=expired.test", ca: true, DateTimeOffset.UtcNow.AddDays(-1));

    private static Pair Make(AsymmetricAlgorithm key, string subject, bool ca, DateTimeOffset notAfter)
    {
        using (key)
        {
            var request = key switch
            {
                RSA rsa => new CertificateRequest(subject, rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1),
                ECDsa ec => new CertificateRequest(subject, ec, HashAlgorithmName.SHA256),
                _ => throw new ArgumentException("unsupported key"),
            };
            if (ca)
                request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
            using var certificate = request.CreateSelfSigned(notAfter.AddYears(-2), notAfter);
            return new Pair(certificate.ExportCertificatePem(), key.ExportPkcs8PrivateKeyPem());
        }
    }

    public static string Sha256Hex(string pem)
    {
        using var certificate = X509Certificate2.CreateFromPem(pem);
        return Convert.ToHexStringLower(SHA256.HashData(certificate.RawData));
    }
}
