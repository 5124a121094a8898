using System.Text.Json;
using Gantry.Cli;
using Gantry.Plugins;

namespace Gantry.Migrations;

/// <summary>
/// Extra subsystems read from the JSON file named by GANTRY_TESTING_SUBSYSTEMS. The test suite uses them
/// to play different releases (one knows migrations 1 and 2, the next adds 3) against one database with
/// one binary, and to slow a step down so that a process can be killed or raced in the middle of it.
/// Subsystems marked as plugins become installable plugins that the plugins property must name.
/// An optional top-level "release" ("0.2.0") makes the process claim that release instead of its build's.
/// Not for production use: it is documented in docs/cli.md as a testing aid only.
/// </summary>
public static class TestingSubsystems
{
    public const string EnvironmentVariable = "GANTRY_TESTING_SUBSYSTEMS";

    public static IReadOnlyList<Subsystem> Load(string? path)
    {
        if (string.IsNullOrEmpty(path))
            return [];
        if (!File.Exists(path))
            throw new FileNotFoundException($"{EnvironmentVariable} names '{path}', which does not exist");
        using var document = JsonDocument.Parse(File.ReadAllText(path));
        if (document.RootElement.TryGetProperty("release", out var release)
            && (release.ValueKind != JsonValueKind.String || !ReleaseVersion.TryParse(release.GetString(), out _)))
            throw new CliException($"{EnvironmentVariable} names '{path}', whose release '{release}' is not of the form major.minor.patch");
        var subsystems = new List<Subsystem>();
        foreach (var subsystem in document.RootElement.GetProperty("subsystems").EnumerateArray())
        {
            var migrations = new List<Migration>();
            foreach (var migration in subsystem.GetProperty("migrations").EnumerateArray())
            {
                var finish = migration.TryGetProperty("finish", out var f) ? ReadStep(f) : null;
                migrations.Add(new Migration(migration.GetProperty("name").GetString()!, ReadStep(migration.GetProperty("up")), finish));
            }
            var isPlugin = subsystem.TryGetProperty("plugin", out var p) && p.GetBoolean();
            subsystems.Add(new Subsystem(subsystem.GetProperty("name").GetString()!, isPlugin, migrations));
        }
        return subsystems;
    }

    /// <summary>
    /// The release the file makes this process claim, or null. Never throws: <see cref="Load"/> reports a
    /// missing or malformed file, and this is read lazily from wherever the version is first needed.
    /// </summary>
    public static string? ReadRelease(string? path)
    {
        if (string.IsNullOrEmpty(path) || !File.Exists(path))
            return null;
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(path));
            return document.RootElement.TryGetProperty("release", out var release) && release.ValueKind == JsonValueKind.String
                && ReleaseVersion.TryParse(release.GetString(), out _)
                ? release.GetString()
                : null;
        }
        catch (Exception e) when (e is IOException or JsonException or InvalidOperationException)
        {
            return null;
        }
    }

    public static IEnumerable<PluginDescriptor> AsPlugins(IEnumerable<Subsystem> subsystems) =>
        subsystems.Where(s => s.IsPlugin).Select(s => new PluginDescriptor(s.Name, Bundled: false, s));

    // A step is a list of operations: {"sql": "..."} for both databases, {"postgres": "...", "sqlite": "..."},
    // or {"delay_ms": 3000}.
    private static MigrationStep ReadStep(JsonElement step)
    {
        var operations = new List<MigrationOperation>();
        foreach (var operation in step.EnumerateArray())
        {
            if (operation.TryGetProperty("delay_ms", out var delay))
                operations.Add(new DelayOperation(delay.GetInt32()));
            else if (operation.TryGetProperty("sql", out var sql))
                operations.Add(new SqlOperation(sql.GetString()!, sql.GetString()!));
            else
                operations.Add(new SqlOperation(operation.GetProperty("postgres").GetString()!, operation.GetProperty("sqlite").GetString()!));
        }
        return new MigrationStep([.. operations]);
    }
}
