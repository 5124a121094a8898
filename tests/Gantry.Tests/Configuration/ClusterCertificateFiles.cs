using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Gantry.Cli;

namespace Gantry.Tests.Configuration;

/// <summary>
/// PEM files for the hybrid checks, in a fresh temporary folder: the pair <c>gantry hybrid gen_cert</c>
/// makes, a key of another pair, a CA certificate, and a file that is no PEM at all.
/// </summary>
public sealed class ClusterCertificateFiles : IDisposable
{
    public ClusterCertificateFiles()
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("gantry-cluster-").FullName;
        var (cert, key, _) = HybridCommand.Generate(30);
        var (_, otherKey, _) = HybridCommand.Generate(30);
        Cert = Write("cluster.crt", cert);
        Key = Write("cluster.key", key);
        OtherKey = Write("other.key", otherKey);
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=Gantry test CA", caKey, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var ca = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        Ca = Write("ca.crt", ca.ExportCertificatePem());
        NotPem = Write("notes.txt", "not a certificate\n");
        CertPem = cert;
    }

    public string Directory { get; }
    public string Cert { get; }
    public string Key { get; }
    public string OtherKey { get; }
    public string Ca { get; }
    public string NotPem { get; }

    /// <summary>The certificate as text, for the inline and base64 forms.</summary>
    public string CertPem { get; }

    /// <summary>Settings every valid hybrid node needs: the pair, plus what the role requires.</summary>
    public string ControlPlane => $"role = control_plane\ndatabase = postgres\ncluster_cert = {Cert}\ncluster_cert_key = {Key}\n";

    public string DataPlane => $"role = data_plane\ndatabase = off\ncluster_cert = {Cert}\ncluster_cert_key = {Key}\ncluster_control_plane = cp.internal:8005\n";

    private string Write(string name, string text)
    {
        var path = Path.Combine(Directory, name);
        File.WriteAllText(path, text);
        return path;
    }

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
}
