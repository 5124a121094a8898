using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Gantry.Tests.Support;

namespace Gantry.Tests.Cli;

/// <summary><c>gantry hybrid gen_cert</c>, and <c>check</c> and <c>start</c> on hybrid configurations, as a user runs them.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class HybridCommandTests : IDisposable
{
    private static readonly Dictionary<string, string> NoEnvironment = [];
    private readonly string _folder = Directory.CreateTempSubdirectory("gantry-hybrid-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string In(string name) => Path.Combine(_folder, name);

    [Fact]
    public async Task Gen_cert_writes_Kongs_pair_into_the_current_folder_by_default()
    {
        var result = await GantryProcess.RunInAsync(_folder, NoEnvironment, "hybrid", "gen_cert");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains(In("cluster.crt"), result.Stdout);
        Assert.Contains(In("cluster.key"), result.Stdout);
        using var certificate = X509Certificate2.CreateFromPem(File.ReadAllText(In("cluster.crt")), File.ReadAllText(In("cluster.key")));
        Assert.Equal("CN=kong_clustering", certificate.Subject);
        Assert.Equal(certificate.Subject, certificate.Issuer);
        using var key = certificate.GetECDsaPrivateKey();
        Assert.NotNull(key);
        Assert.Equal(384, key.KeySize);
        // secp384r1 (NIST P-384), the curve Kong's gen_cert uses.
        Assert.Equal("06052B81040022", Convert.ToHexString(certificate.PublicKey.EncodedParameters!.RawData!));
        // Kong's default validity: three years from now.
        Assert.InRange(certificate.NotAfter.ToUniversalTime() - DateTime.UtcNow, TimeSpan.FromDays(1095) - TimeSpan.FromMinutes(5), TimeSpan.FromDays(1095));
        Assert.InRange(DateTime.UtcNow - certificate.NotBefore.ToUniversalTime(), TimeSpan.Zero, TimeSpan.FromMinutes(5));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(In("cluster.key")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead, File.GetUnixFileMode(In("cluster.crt")));
        Assert.Equal(["cluster.crt", "cluster.key"], Directory.GetFiles(_folder).Select(Path.GetFileName).Order());
    }

    [Fact]
    public async Task Gen_cert_takes_the_files_and_days_given()
    {
        var result = await GantryProcess.RunInAsync(_folder, NoEnvironment, "hybrid", "gen_cert", "cp.pem", "keys/../cp-key.pem", "--days", "10");

        Assert.True(result.ExitCode == 0, result.ToString());
        using var certificate = X509Certificate2.CreateFromPem(File.ReadAllText(In("cp.pem")));
        Assert.InRange(certificate.NotAfter.ToUniversalTime() - DateTime.UtcNow, TimeSpan.FromDays(10) - TimeSpan.FromMinutes(5), TimeSpan.FromDays(10));
        Assert.True(File.Exists(In("cp-key.pem")));
    }

    [Fact]
    public async Task Generated_pair_is_accepted_by_check_for_both_roles()
    {
        Assert.Equal(0, (await GantryProcess.RunInAsync(_folder, NoEnvironment, "hybrid", "gen_cert")).ExitCode);
        var controlPlane = In("cp.conf");
        var dataPlane = In("dp.conf");
        await File.WriteAllTextAsync(controlPlane, $"role = control_plane\ndatabase = postgres\ncluster_cert = {In("cluster.crt")}\ncluster_cert_key = {In("cluster.key")}\n");
        await File.WriteAllTextAsync(dataPlane, $"role = data_plane\ndatabase = off\ncluster_cert = {In("cluster.crt")}\ncluster_cert_key = {In("cluster.key")}\ncluster_control_plane = cp.internal:8005\n");

        var checkedControlPlane = await GantryProcess.RunAsync(NoEnvironment, "check", controlPlane);
        var checkedDataPlane = await GantryProcess.RunAsync(NoEnvironment, "check", dataPlane);

        Assert.True(checkedControlPlane.ExitCode == 0, checkedControlPlane.ToString());
        Assert.True(checkedDataPlane.ExitCode == 0, checkedDataPlane.ToString());
    }

    [Fact]
    public async Task Second_run_refuses_and_changes_nothing_unless_forced()
    {
        Assert.Equal(0, (await GantryProcess.RunInAsync(_folder, NoEnvironment, "hybrid", "gen_cert")).ExitCode);
        var certificate = await File.ReadAllBytesAsync(In("cluster.crt"));
        var key = await File.ReadAllBytesAsync(In("cluster.key"));

        var again = await GantryProcess.RunInAsync(_folder, NoEnvironment, "hybrid", "gen_cert");

        Assert.Equal(1, again.ExitCode);
        Assert.Contains($"Error: {In("cluster.crt")} already exists; it was not overwritten (pass --force", again.Stderr);
        Assert.Equal(certificate, await File.ReadAllBytesAsync(In("cluster.crt")));
        Assert.Equal(key, await File.ReadAllBytesAsync(In("cluster.key")));
        Assert.Equal(2, Directory.GetFiles(_folder).Length);

        var forced = await GantryProcess.RunInAsync(_folder, NoEnvironment, "hybrid", "gen_cert", "--force");

        Assert.True(forced.ExitCode == 0, forced.ToString());
        Assert.NotEqual(key, await File.ReadAllBytesAsync(In("cluster.key")));
        Assert.NotEqual(certificate, await File.ReadAllBytesAsync(In("cluster.crt")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(In("cluster.key")));
        Assert.Equal(2, Directory.GetFiles(_folder).Length);
    }

    [Fact]
    public async Task An_existing_key_alone_stops_the_certificate_from_being_written()
    {
        await File.WriteAllTextAsync(In("cluster.key"), "mine");

        var result = await GantryProcess.RunInAsync(_folder, NoEnvironment, "hybrid", "gen_cert");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains($"{In("cluster.key")} already exists", result.Stderr);
        Assert.False(File.Exists(In("cluster.crt")));
        Assert.Equal("mine", await File.ReadAllTextAsync(In("cluster.key")));
    }

    [Theory]
    [InlineData("Error: give both the certificate and the key file, or neither", "only.crt")]
    [InlineData("Error: --days must be a whole number of days of at least 1, got 0", "--days", "0")]
    [InlineData("Error: the certificate and the key must be different files", "same.pem", "same.pem")]
    public async Task Bad_usage_exits_2_and_writes_nothing(string expected, params string[] arguments)
    {
        var result = await GantryProcess.RunInAsync(_folder, NoEnvironment, ["hybrid", "gen_cert", .. arguments]);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(expected, result.Stderr);
        Assert.Empty(Directory.GetFiles(_folder));
    }

    [Fact]
    public async Task Missing_folder_is_an_error_that_writes_nothing()
    {
        var result = await GantryProcess.RunInAsync(_folder, NoEnvironment, "hybrid", "gen_cert", "cluster.crt", "absent/cluster.key");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("Error: cannot write the certificate and key: the folder", result.Stderr);
        Assert.Contains("nothing was written", result.Stderr);
        Assert.Empty(Directory.GetFiles(_folder));
    }

    [Fact]
    public async Task Check_names_every_property_of_a_wrong_mix()
    {
        Assert.Equal(0, (await GantryProcess.RunInAsync(_folder, NoEnvironment, "hybrid", "gen_cert")).ExitCode);
        Assert.Equal(0, (await GantryProcess.RunInAsync(_folder, NoEnvironment, "hybrid", "gen_cert", "other.crt", "other.key")).ExitCode);
        var file = In("dp.conf");
        await File.WriteAllTextAsync(file,
            $"role = data_plane\ndatabase = postgres\ncluster_mtls = pki\ncluster_cert = {In("cluster.crt")}\ncluster_cert_key = {In("other.key")}\ncluster_dp_labels = region\n");

        var result = await GantryProcess.RunAsync(NoEnvironment, "check", file);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains($"Error: configuration at {file} is invalid", result.Stderr);
        Assert.Contains("database: a data plane receives its configuration from the control plane and must run with database = off", result.Stderr);
        Assert.Contains("cluster_cert_key: is not the private key of cluster_cert", result.Stderr);
        Assert.Contains("cluster_ca_cert: must be set when cluster_mtls is pki", result.Stderr);
        Assert.Contains("cluster_dp_labels: expected key:value pairs, got 'region'", result.Stderr);
        Assert.DoesNotContain("PRIVATE KEY", result.Stderr);
        Assert.Empty(result.Stdout);
    }

    [Fact]
    public async Task Start_refuses_a_control_plane_without_a_database_before_binding_anything()
    {
        await using var gantry = await TestInstallation.CreateAsync("off");
        Assert.Equal(0, (await GantryProcess.RunInAsync(_folder, NoEnvironment, "hybrid", "gen_cert")).ExitCode);
        gantry.Environment["GANTRY_ROLE"] = "control_plane";
        gantry.Environment["GANTRY_CLUSTER_CERT"] = In("cluster.crt");
        gantry.Environment["GANTRY_CLUSTER_CERT_KEY"] = In("cluster.key");

        var result = await gantry.RunAsync("start");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("database: a control plane stores the configuration it pushes", result.Stderr);
        Assert.Contains("GANTRY_DATABASE", result.Stderr);
        Assert.False(File.Exists(Path.Combine(gantry.Prefix, "pids", "gantry.pid")));
    }
}
