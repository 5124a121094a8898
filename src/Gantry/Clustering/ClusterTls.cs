using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Gantry.Configuration;
using Gantry.Node;

namespace Gantry.Clustering;

/// <summary>
/// The certificates of the link and how each side checks the other's (<c>cluster_mtls</c>):
/// <c>shared</c> accepts only the very certificate this node has (SHA-256 of the DER); <c>pki</c> accepts a
/// chain that ends at <c>cluster_ca_cert</c> and at no other root, and the data plane checks the control
/// plane's name; <c>pki_check_cn</c> also makes the control plane require a data plane common name in the
/// parent domain of its own. Each check returns why it refused, for both sides' logs.
/// </summary>
public sealed class ClusterTls
{
    /// <summary>The name a data plane sends, and expects, in shared mode (Kong's).</summary>
    public const string SharedServerName = "kong_clustering";

    private readonly byte[] _ownDigest;

    private ClusterTls(string mode, X509Certificate2 certificate, X509Certificate2? authority, string serverName)
    {
        Mode = mode;
        Certificate = certificate;
        Authority = authority;
        ServerName = serverName;
        _ownDigest = SHA256.HashData(certificate.RawData);
    }

    public string Mode { get; }

    /// <summary>This node's certificate, with its private key.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>The CA of the pki modes.</summary>
    public X509Certificate2? Authority { get; }

    /// <summary>The name a data plane sends as SNI and expects the control plane's certificate to carry.</summary>
    public string ServerName { get; }

    public static ClusterTls Load(GantryConfig config)
    {
        var mode = config.Get("cluster_mtls");
        var certText = config.Get("cluster_cert");
        var keyText = config.Get("cluster_cert_key");
        if (string.IsNullOrEmpty(certText) || string.IsNullOrEmpty(keyText))
            throw new NodeStartException("hybrid mode needs cluster_cert and cluster_cert_key (make a pair with 'gantry hybrid gen_cert')");
        X509Certificate2 certificate;
        try
        {
            using var pem = X509Certificate2.CreateFromPem(ListenerSetup.PemText(certText, "cluster_cert"), ListenerSetup.PemText(keyText, "cluster_cert_key"));
            // A PKCS#12 round trip gives a key that TLS can use on every platform.
            certificate = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
        }
        catch (CryptographicException e)
        {
            throw new NodeStartException($"cannot load cluster_cert with cluster_cert_key: {e.Message}");
        }
        X509Certificate2? authority = null;
        if (mode != "shared")
        {
            var caText = config.Get("cluster_ca_cert");
            if (string.IsNullOrEmpty(caText))
                throw new NodeStartException($"cluster_mtls = {mode} needs cluster_ca_cert, the CA that signs every node's certificate");
            try
            {
                authority = X509Certificate2.CreateFromPem(ListenerSetup.PemText(caText, "cluster_ca_cert"));
            }
            catch (CryptographicException e)
            {
                throw new NodeStartException($"cannot load cluster_ca_cert: {e.Message}");
            }
        }
        var serverName = mode == "shared" ? SharedServerName
            : config.Get("cluster_server_name") is { Length: > 0 } name ? name
            : HostOf(config.ClusterControlPlane);
        return new ClusterTls(mode, certificate, authority, serverName);
    }

    /// <summary>The host of a <c>host:port</c> (brackets of an IPv6 address removed).</summary>
    public static string HostOf(string hostPort)
    {
        var colon = hostPort.LastIndexOf(':');
        var host = colon > 0 && !hostPort.EndsWith(']') ? hostPort[..colon] : hostPort;
        return host.Trim('[', ']');
    }

    /// <summary>On the control plane: why a data plane's certificate is refused, or null when it is accepted.</summary>
    public string? RefusalOfDataPlane(X509Certificate2? peer)
    {
        if (peer is null)
            return "it presented no client certificate (cluster_cert)";
        if (Mode == "shared")
            return SameAsOwn(peer);
        if (Chain(peer) is { } broken)
            return broken;
        if (Mode == "pki_check_cn")
        {
            var own = CommonName(Certificate);
            var dot = own.IndexOf('.');
            var parent = dot >= 0 ? own[dot..] : null;
            var theirs = CommonName(peer);
            if (parent is null || !theirs.EndsWith(parent, StringComparison.OrdinalIgnoreCase) || theirs.Length == parent.Length)
                return $"its common name '{theirs}' is not in the parent domain of the control plane's '{own}' (cluster_mtls = pki_check_cn)";
        }
        return null;
    }

    /// <summary>On the data plane: why the control plane's certificate is refused, or null when it is accepted.</summary>
    public string? RefusalOfControlPlane(X509Certificate2? peer)
    {
        if (peer is null)
            return "it presented no certificate";
        if (Mode == "shared")
            return SameAsOwn(peer);
        if (Chain(peer) is { } broken)
            return broken;
        return peer.MatchesHostname(ServerName)
            ? null
            : $"its certificate (subject '{peer.Subject}') is not for the name '{ServerName}' (cluster_server_name, else the host of cluster_control_plane)";
    }

    private string? SameAsOwn(X509Certificate2 peer)
    {
        var digest = SHA256.HashData(peer.RawData);
        return CryptographicOperations.FixedTimeEquals(digest, _ownDigest)
            ? null
            : $"its certificate (subject '{peer.Subject}', SHA-256 {Convert.ToHexStringLower(digest)}) is not this node's cluster_cert (SHA-256 {Convert.ToHexStringLower(_ownDigest)}); cluster_mtls = shared needs the same certificate on every node";
    }

    /// <summary>Why the peer's chain does not end at cluster_ca_cert (and at no other root), or null.</summary>
    private string? Chain(X509Certificate2 peer)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(Authority!);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (chain.Build(peer))
            return null;
        var reasons = string.Join(", ", chain.ChainStatus.Select(s => s.StatusInformation.Trim()).Where(s => s.Length > 0).Distinct());
        return $"its certificate (subject '{peer.Subject}') does not chain to cluster_ca_cert (subject '{Authority!.Subject}'): {reasons}";
    }

    private static string CommonName(X509Certificate2 certificate) => certificate.GetNameInfo(X509NameType.SimpleName, false);
}
