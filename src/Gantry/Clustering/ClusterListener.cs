using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Gantry.Configuration;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;

namespace Gantry.Clustering;

/// <summary>
/// Binds a control plane's cluster_listen: TLS only, with a client certificate required and checked by
/// <see cref="ClusterTls"/> during the handshake, so that a data plane without the right certificate never
/// reaches the WebSocket. A refusal is logged with the peer's address and the reason.
/// </summary>
internal static class ClusterListener
{
    public static void Bind(KestrelServerOptions kestrel, IReadOnlyList<ListenAddress> addresses, ClusterTls tls, Func<ILogger> logger)
    {
        var context = SslStreamCertificateContext.Create(tls.Certificate, null, offline: true);
        foreach (var address in addresses)
        {
            void Configure(ListenOptions options)
            {
                options.Protocols = HttpProtocols.Http1;
                options.UseHttps(new TlsHandshakeCallbackOptions
                {
                    OnConnection = connection => ValueTask.FromResult(new SslServerAuthenticationOptions
                    {
                        ServerCertificateContext = context,
                        ClientCertificateRequired = true,
                        EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                        ApplicationProtocols = [SslApplicationProtocol.Http11],
                        RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                        {
                            var peer = certificate as X509Certificate2 ?? (certificate is null ? null : X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()));
                            if (tls.RefusalOfDataPlane(peer) is not { } refusal)
                                return true;
                            logger().LogWarning("refused a data plane connecting from {Address}: {Reason}", connection.Connection.RemoteEndPoint, refusal);
                            return false;
                        },
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
                kestrel.Listen(System.Net.Dns.GetHostAddresses(address.Host)[0], address.Port, Configure);
        }
    }
}
