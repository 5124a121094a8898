using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Gantry.Tests.Support;

/// <summary>HTTPS requests with a chosen SNI that report which certificate the server presented.</summary>
public static class TlsClient
{
    /// <summary>A self-signed certificate for <paramref name="commonName"/> (also its DNS name), as PEM certificate and PKCS#8 key.</summary>
    public static (string Cert, string Key) SelfSigned(string commonName)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={commonName}", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName(commonName);
        request.CertificateExtensions.Add(names.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
        return (certificate.ExportCertificatePem(), key.ExportPkcs8PrivateKeyPem());
    }

    /// <summary>
    /// GETs the URL over TLS (in exactly the HTTP version given, if one is) with <paramref name="serverName"/> as SNI (the certificate is accepted
    /// whatever it is) and returns the subject of the certificate the server presented with the response.
    /// </summary>
    public static async Task<(string Subject, HttpResponseMessage Response)> GetAsync(string url, string serverName, Version? version = null)
    {
        string? subject = null;
        using var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            PooledConnectionLifetime = TimeSpan.Zero,
            SslOptions = new SslClientAuthenticationOptions
            {
                TargetHost = serverName,
                RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                {
                    subject = certificate?.Subject;
                    return true;
                },
            },
        };
        using var client = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(30) };
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (version is not null)
        {
            request.Version = version;
            request.VersionPolicy = HttpVersionPolicy.RequestVersionExact;
        }
        // SocketsHttpHandler takes the SNI from the Host header when one is set; set both, so either way it is this name.
        request.Headers.Host = serverName;
        var response = await client.SendAsync(request);
        await response.Content.LoadIntoBufferAsync();
        return (subject ?? throw new InvalidOperationException("no server certificate was presented"), response);
    }
}
