using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Gantry.Configuration;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;

namespace Gantry.Node;

/// <summary>Binds Kestrel to the listen addresses of one role (proxy, admin, status).</summary>
internal static class ListenerSetup
{
    /// <summary>An endpoint with an IPv4-mapped IPv6 address (a dual-stack listener's IPv4 peer) as the plain IPv4 endpoint; any other as it is.</summary>
    public static EndPoint? Unmapped(EndPoint? endpoint) =>
        endpoint is IPEndPoint { Address.IsIPv4MappedToIPv6: true } ip ? new IPEndPoint(ip.Address.MapToIPv4(), ip.Port) : endpoint;

    /// <param name="bySni">
    /// When given, a TLS handshake takes the certificate it returns for the client's SNI, and the default
    /// <paramref name="certificate"/> when it returns null (the proxy's certificates from the store).
    /// </param>
    public static void Bind(KestrelServerOptions kestrel, IReadOnlyList<ListenAddress> addresses, Func<X509Certificate2> certificate,
        Func<string?, SslStreamCertificateContext?>? bySni = null)
    {
        SslStreamCertificateContext? fallback = null;
        foreach (var address in addresses)
        {
            void Configure(ListenOptions options)
            {
                options.Protocols = address.Http2 ? HttpProtocols.Http1AndHttp2 : HttpProtocols.Http1;
                if (!address.Ssl)
                    return;
                if (bySni is null)
                {
                    options.UseHttps(certificate());
                    return;
                }
                fallback ??= SslStreamCertificateContext.Create(certificate(), null, offline: true);
                List<SslApplicationProtocol> alpn = address.Http2
                    ? [SslApplicationProtocol.Http2, SslApplicationProtocol.Http11]
                    : [SslApplicationProtocol.Http11];
                // Per handshake, from the snapshot current at that moment: a certificate added through the Admin API
                // serves without a restart. The contexts are built off the handshake path, when the snapshot is.
                options.UseHttps(new TlsHandshakeCallbackOptions
                {
                    OnConnection = context => ValueTask.FromResult(new SslServerAuthenticationOptions
                    {
                        ServerCertificateContext = bySni(context.ClientHelloInfo.ServerName) ?? fallback,
                        ApplicationProtocols = alpn,
                    }),
                });
            }

            if (address.Host is "localhost")
                kestrel.ListenLocalhost(address.Port, Configure);
            else if (address.Host is "*")
                kestrel.ListenAnyIP(address.Port, Configure);
            else if (address.Address is { } ip)
                kestrel.Listen(ip, address.Port, Configure);
            else
                kestrel.Listen(ResolveHost(address.Host), address.Port, Configure);
        }
    }

    private static IPAddress ResolveHost(string host)
    {
        var addresses = Dns.GetHostAddresses(host);
        return addresses.Length > 0 ? addresses[0] : throw new NodeStartException($"cannot resolve listen host '{host}'");
    }

    /// <summary>A certificate or key given as Kong accepts it: PEM text, a file path, or base64-encoded PEM.</summary>
    internal static string PemText(string value, string property) =>
        PemSource.TryRead(value, out var pem, out var error, secret: property.EndsWith("_key", StringComparison.Ordinal))
            ? pem
            : throw new NodeStartException($"{property}: {error}; give the path of a PEM file");

    /// <summary>
    /// The certificate of TLS listeners: the configured PEM pair, else a self-signed one generated once
    /// into the prefix (as Kong does), so that the default listeners work out of the box.
    /// </summary>
    public static X509Certificate2 LoadOrCreate(GantryConfig config, string certProperty, NodePrefix prefix, string role)
    {
        // The first pair of the lists; certificates per SNI come from the store (SniCertificates).
        var certPath = config.GetList(certProperty).FirstOrDefault();
        var keyPath = config.GetList(certProperty + "_key").FirstOrDefault();
        if (!string.IsNullOrEmpty(certPath) && !string.IsNullOrEmpty(keyPath))
        {
            try
            {
                using var pem = X509Certificate2.CreateFromPem(PemText(certPath, certProperty), PemText(keyPath, certProperty + "_key"));
                // Kestrel needs a certificate whose key is usable on every platform; a PKCS#12 round trip gives one.
                return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
            }
            catch (Exception e) when (e is CryptographicException or IOException)
            {
                throw new NodeStartException($"cannot load the {role} TLS certificate of {certProperty} with its key {certProperty}_key: {e.Message}");
            }
        }
        var file = Path.Combine(prefix.SslDirectory, $"{role}-default.pfx");
        if (File.Exists(file))
            return X509CertificateLoader.LoadPkcs12FromFile(file, null);
        using var rsa = RSA.Create(2048);
        var request = new CertificateRequest("CN=localhost, O=Gantry self-signed", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(10));
        var bytes = created.Export(X509ContentType.Pkcs12);
        File.WriteAllBytes(file, bytes);
        return X509CertificateLoader.LoadPkcs12(bytes, null);
    }
}
