using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Gantry.Tests.Admin;
using Gantry.Tests.Support;

namespace Gantry.Tests.Clustering;

/// <summary>Certificates for the link, made on the fly: a shared pair, or a CA and the pairs it signs.</summary>
public static class ClusterCertificates
{
    public static TestCertificates.Pair Shared() => TestCertificates.Rsa("CN=kong_clustering");

    public sealed record Authority(TestCertificates.Pair Pair)
    {
        /// <summary>A certificate signed by this CA for <paramref name="commonName"/>, also valid for 127.0.0.1.</summary>
        public TestCertificates.Pair Sign(string commonName)
        {
            using var ca = X509Certificate2.CreateFromPem(Pair.Cert, Pair.Key);
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest("CN=" + commonName, key, HashAlgorithmName.SHA256);
            var names = new SubjectAlternativeNameBuilder();
            names.AddDnsName(commonName);
            names.AddIpAddress(IPAddress.Loopback);
            request.CertificateExtensions.Add(names.Build());
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
            using var signed = request.Create(ca, ca.NotBefore.AddDays(1), ca.NotAfter.AddDays(-1), RandomNumberGenerator.GetBytes(12));
            return new TestCertificates.Pair(signed.ExportCertificatePem(), key.ExportPkcs8PrivateKeyPem());
        }
    }

    public static Authority NewAuthority(string name) => new(TestCertificates.Ca("CN=" + name));
}

/// <summary>
/// Control planes and data planes as real processes (<c>bin/gantry start</c>) on loopback, with the link's
/// clocks shortened (<c>GANTRY_INTERNAL_CLUSTER_TIMINGS</c>) so that reconnects take a fraction of a second.
/// </summary>
public sealed class HybridNode : IAsyncDisposable
{
    public const string FastTimings = "ping=1,silence=4,reconnect_min=0.2,reconnect_max=0.4";

    private HybridNode(TestInstallation installation) => Installation = installation;

    public TestInstallation Installation { get; }

    public GantryProcess? Process { get; private set; }

    public Dictionary<string, string> Environment => Installation.Environment;

    public string ClusterAddress => Environment["GANTRY_CLUSTER_LISTEN"];

    public string ProxyUrl => ProxyNode.ProxyUrl(Environment);

    /// <param name="bootstrap">Bootstraps a PostgreSQL database with bin/gantry; false leaves it to the caller (a test playing another release).</param>
    public static async Task<HybridNode> ControlPlaneAsync(string store, TestCertificates.Pair certificate, string mtls = "shared", string? ca = null, bool bootstrap = true)
    {
        var installation = await TestInstallation.CreateAsync(store);
        var node = new HybridNode(installation);
        node.Environment["GANTRY_ROLE"] = "control_plane";
        node.Environment["GANTRY_CLUSTER_LISTEN"] = $"127.0.0.1:{TestInstallation.FreePort()}";
        node.Environment["GANTRY_DB_UPDATE_FREQUENCY"] = "0.2";
        node.Configure(certificate, mtls, ca);
        if (installation.IsPostgres && bootstrap)
        {
            var bootstrapped = await installation.RunAsync("migrations", "bootstrap");
            Assert.True(bootstrapped.ExitCode == 0, bootstrapped.ToString());
        }
        return node;
    }

    public static async Task<HybridNode> DataPlaneAsync(HybridNode controlPlane, TestCertificates.Pair certificate, string mtls = "shared", string? ca = null)
    {
        var node = new HybridNode(await TestInstallation.CreateAsync("off"));
        node.Environment["GANTRY_ROLE"] = "data_plane";
        node.Environment["GANTRY_CLUSTER_CONTROL_PLANE"] = controlPlane.ClusterAddress;
        node.Configure(certificate, mtls, ca);
        return node;
    }

    private void Configure(TestCertificates.Pair certificate, string mtls, string? ca)
    {
        var cert = Path.Combine(Installation.Prefix, "cluster.crt");
        var key = Path.Combine(Installation.Prefix, "cluster.key");
        File.WriteAllText(cert, certificate.Cert);
        File.WriteAllText(key, certificate.Key);
        Environment["GANTRY_CLUSTER_CERT"] = cert;
        Environment["GANTRY_CLUSTER_CERT_KEY"] = key;
        Environment["GANTRY_CLUSTER_MTLS"] = mtls;
        if (ca is not null)
        {
            var caFile = Path.Combine(Installation.Prefix, "cluster-ca.crt");
            File.WriteAllText(caFile, ca);
            Environment["GANTRY_CLUSTER_CA_CERT"] = caFile;
        }
        Environment["GANTRY_INTERNAL_CLUSTER_TIMINGS"] = FastTimings;
    }

    public async Task StartAsync()
    {
        Process = Installation.Start("start");
        await Process.WaitForOutputAsync("started", TimeSpan.FromSeconds(60));
    }

    /// <summary>SIGKILL, as a crash or a lost machine: nothing is flushed.</summary>
    public async Task StopAsync()
    {
        if (Process is not null)
        {
            await Process.DisposeAsync();
            _earlierLogs += Process.Stdout + Process.Stderr;
        }
        Process = null;
    }

    private string _earlierLogs = "";

    public async Task<JsonElement> StatusAsync() => await ProxyNode.StatusAsync(Environment);

    /// <summary>What every run of the node printed so far.</summary>
    public string Logs => _earlierLogs + (Process?.Stdout ?? "") + (Process?.Stderr ?? "");

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        await Installation.DisposeAsync();
    }
}

/// <summary>Waiting for what hybrid tests expect to happen within a propagation delay.</summary>
public static class HybridWaits
{
    public static readonly TimeSpan Propagation = TimeSpan.FromSeconds(20);

    public static async Task UntilAsync(Func<Task<bool>> condition, string what)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > Propagation)
                throw new TimeoutException($"not within {Propagation}: {what}");
            await Task.Delay(50);
        }
    }

    public static Task UntilLoggedAsync(HybridNode node, string text) =>
        UntilAsync(() => Task.FromResult(node.Logs.Contains(text, StringComparison.Ordinal)), $"'{text}' logged:\n{node.Logs}");

    public static async Task AssertServesAsync(HybridNode dataPlane, string path)
    {
        var response = await ProxyNode.UntilRoutedAsync(dataPlane.ProxyUrl + path, Propagation);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path} on {dataPlane.ProxyUrl}: {(int)response.StatusCode}\n{dataPlane.Logs}");
    }
}
