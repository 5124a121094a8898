using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Gantry.Entities.Definitions;

/// <summary>
/// Reads PEM certificates and keys with System.Security.Cryptography, only to check them: that they parse,
/// that a key belongs to its certificate, which type of key a certificate carries.
/// </summary>
public static class PemMaterial
{
    private const string CertificateLabel = "-----BEGIN CERTIFICATE-----";

    public static int CertificateCount(string pem)
    {
        var count = 0;
        for (var at = pem.IndexOf(CertificateLabel, StringComparison.Ordinal); at >= 0; at = pem.IndexOf(CertificateLabel, at + 1, StringComparison.Ordinal))
            count++;
        return count;
    }

    public static X509Certificate2? Certificate(string pem, out string? error)
    {
        error = null;
        if (CertificateCount(pem) == 0)
        {
            error = "invalid certificate: no PEM certificate found";
            return null;
        }
        try
        {
            return X509Certificate2.CreateFromPem(FirstCertificate(pem));
        }
        catch (CryptographicException e)
        {
            error = $"invalid certificate: {e.Message}";
            return null;
        }
    }

    /// <summary>
    /// The first certificate of a chain: it is the one the entity describes, and .NET refuses a chain whose
    /// blocks are not separated by a line break, which OpenSSL (so Kong) reads.
    /// </summary>
    private static string FirstCertificate(string pem)
    {
        const string end = "-----END CERTIFICATE-----";
        var begin = pem.IndexOf(CertificateLabel, StringComparison.Ordinal);
        var close = pem.IndexOf(end, begin, StringComparison.Ordinal);
        return close < 0 ? pem : pem[begin..(close + end.Length)];
    }

    /// <summary>The private or public key in the PEM (RSA or EC); null with a message when it does not parse.</summary>
    public static AsymmetricAlgorithm? Key(string pem, out string? error)
    {
        error = null;
        AsymmetricAlgorithm[] candidates = [RSA.Create(), ECDsa.Create()];
        foreach (var candidate in candidates)
        {
            try
            {
                candidate.ImportFromPem(pem);
                foreach (var other in candidates.Where(c => c != candidate))
                    other.Dispose();
                return candidate;
            }
            catch (Exception e) when (e is ArgumentException or CryptographicException)
            {
                // Not this kind of key; try the next.
            }
        }
        foreach (var candidate in candidates)
            candidate.Dispose();
        error = "invalid key: could not read a PEM RSA or EC key";
        return null;
    }

    public static byte[] PublicKeyInfo(AsymmetricAlgorithm key) => key.ExportSubjectPublicKeyInfo();

    public static bool Matches(X509Certificate2 certificate, AsymmetricAlgorithm key) =>
        certificate.PublicKey.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(key.ExportSubjectPublicKeyInfo());

    /// <summary>The key algorithm OID of the certificate: RSA, EC, Ed25519 each have their own.</summary>
    public static string KeyType(X509Certificate2 certificate) => certificate.PublicKey.Oid.Value ?? "";

    /// <summary>Whether the certificate carries the CA basic constraint.</summary>
    public static bool IsCa(X509Certificate2 certificate) =>
        certificate.Extensions.OfType<X509BasicConstraintsExtension>().Any(b => b.CertificateAuthority);

    /// <summary>Lower-case hex SHA-256 of the DER encoding: how Kong identifies a CA certificate.</summary>
    public static string Sha256Hex(X509Certificate2 certificate) => Convert.ToHexStringLower(SHA256.HashData(certificate.RawData));
}
