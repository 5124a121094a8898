using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Gantry.Cli;

/// <summary>
/// <c>gantry hybrid gen_cert [cert key]</c>: the certificate and key that control planes and data planes
/// share in <c>cluster_mtls = shared</c>, as Kong's verb makes them (self-signed, EC P-384,
/// <c>CN=kong_clustering</c>, three years by default). An existing file is never overwritten unless
/// <c>--force</c> is given.
/// </summary>
internal static class HybridCommand
{
    public const string DefaultCertFile = "cluster.crt";
    public const string DefaultKeyFile = "cluster.key";
    public const int DefaultDays = 3 * 365;

    /// <summary>The subject Kong gives the shared certificate; data planes send it as the server name.</summary>
    public const string CommonName = "kong_clustering";

    private const UnixFileMode CertificateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
    private const UnixFileMode KeyMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    public static Command Create()
    {
        var command = new Command("hybrid", "Hybrid mode utilities");
        command.Subcommands.Add(GenerateCertificate());
        return command;
    }

    private static Command GenerateCertificate()
    {
        var files = new Argument<string[]>("files")
        {
            Description = $"The certificate and key files to write, both or neither (default: {DefaultCertFile} and {DefaultKeyFile} in the current folder)",
            Arity = new ArgumentArity(0, 2),
        };
        var days = new Option<int>("--days", "-d")
        {
            Description = $"Days the certificate is valid (default: {DefaultDays}, three years)",
            DefaultValueFactory = _ => DefaultDays,
        };
        var force = new Option<bool>("--force", "-f")
        {
            Description = "Replace the files when they exist (Gantry's addition; Kong never overwrites them)",
        };
        var command = new Command("gen_cert", "Generate the certificate and key that control and data planes share (cluster_cert, cluster_cert_key)");
        command.Arguments.Add(files);
        command.Options.Add(days);
        command.Options.Add(force);
        command.SetAction(result =>
        {
            var output = Output.Console(CommonOptions.VerbosityOf(result));
            var given = result.GetValue(files) ?? [];
            if (given.Length == 1)
                throw new CliException("give both the certificate and the key file, or neither", ExitCodes.Usage);
            if (result.GetValue(days) is var validity && validity < 1)
                throw new CliException($"--days must be a whole number of days of at least 1, got {validity}", ExitCodes.Usage);
            var certPath = Path.GetFullPath(given.Length == 2 ? given[0] : DefaultCertFile);
            var keyPath = Path.GetFullPath(given.Length == 2 ? given[1] : DefaultKeyFile);
            if (certPath == keyPath)
                throw new CliException($"the certificate and the key must be different files, both are {certPath}", ExitCodes.Usage);
            var overwrite = result.GetValue(force);
            if (!overwrite)
            {
                foreach (var path in new[] { certPath, keyPath }.Where(p => File.Exists(p) || Directory.Exists(p)))
                    throw new CliException($"{path} already exists; it was not overwritten (pass --force to replace it, or name other files)");
            }

            var (certificatePem, keyPem, notAfter) = Generate(validity);
            WritePair(certPath, certificatePem, keyPath, keyPem, overwrite);
            output.Line($"Wrote the certificate to {certPath} and its private key to {keyPath} (mode 0600); " +
                $"valid until {notAfter.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)} UTC. " +
                "Give both files to every control plane and data plane as cluster_cert and cluster_cert_key.");
            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>A self-signed EC P-384 certificate for <see cref="CommonName"/>, valid from now for <paramref name="days"/> days.</summary>
    internal static (string CertificatePem, string KeyPem, DateTime NotAfter) Generate(int days)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var request = new CertificateRequest(new X500DistinguishedName($"CN={CommonName}"), key, HashAlgorithmName.SHA384);
        // Whole seconds: X.509 times have no fraction, and the printed expiry must be what the file says.
        var now = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        using var certificate = request.CreateSelfSigned(now, now.AddDays(days));
        return (certificate.ExportCertificatePem() + "\n", key.ExportPkcs8PrivateKeyPem() + "\n", certificate.NotAfter.ToUniversalTime());
    }

    /// <summary>
    /// Writes both files or neither: each is staged beside its target (the key with mode 0600 from the start,
    /// never readable by others even briefly) and renamed into place; without <paramref name="overwrite"/> a
    /// file that appeared meanwhile is not replaced, and a certificate already moved into place is removed again.
    /// </summary>
    private static void WritePair(string certPath, string certificatePem, string keyPath, string keyPem, bool overwrite)
    {
        var staged = new List<(string Temporary, string Final)>();
        var placed = new List<string>();
        try
        {
            staged.Add((Stage(certPath, certificatePem, CertificateMode), certPath));
            staged.Add((Stage(keyPath, keyPem, KeyMode), keyPath));
            foreach (var (temporary, final) in staged)
            {
                File.Move(temporary, final, overwrite);
                placed.Add(final);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            if (!overwrite)
                placed.ForEach(File.Delete);
            throw new CliException($"cannot write the certificate and key: {e.Message}; {(overwrite && placed.Count > 0 ? $"only {placed[0]} was replaced" : "nothing was written")}");
        }
        finally
        {
            foreach (var (temporary, _) in staged)
                File.Delete(temporary);
        }
    }

    private static string Stage(string path, string text, UnixFileMode mode)
    {
        var directory = Path.GetDirectoryName(path)!;
        if (!Directory.Exists(directory))
            throw new IOException($"the folder {directory} does not exist");
        var temporary = Path.Combine(directory, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
            options.UnixCreateMode = mode;
        using (var stream = new FileStream(temporary, options))
        using (var writer = new StreamWriter(stream))
            writer.Write(text);
        // The process umask may have taken bits away from the certificate's 0644; set exactly what was meant.
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(temporary, mode);
        return temporary;
    }
}
