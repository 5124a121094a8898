using Gantry.Tests.Support;

namespace Gantry.Tests.Cli;

/// <summary><c>gantry check</c> and configuration precedence, seen through the command line.</summary>
public sealed class CheckCommandTests
{
    [Fact]
    public async Task Valid_file_is_reported_valid()
    {
        await using var gantry = await TestInstallation.CreateAsync("sqlite");
        var file = Path.Combine(gantry.Prefix, "good.conf");
        await File.WriteAllTextAsync(file, "database = postgres\npg_port = 6543\nproxy_listen = 0.0.0.0:9000, 0.0.0.0:9443 ssl http2\n");
        var result = await GantryProcess.RunAsync(new Dictionary<string, string>(), "check", file);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal($"configuration at {file} is valid", result.Stdout.Trim());
    }

    [Fact]
    public async Task Every_bad_value_is_named()
    {
        await using var gantry = await TestInstallation.CreateAsync("sqlite");
        var file = Path.Combine(gantry.Prefix, "bad.conf");
        await File.WriteAllTextAsync(file, "pg_port = abc\ndatabase = mongo\nadmin_listen = 127.0.0.1:99999\nlog_level = chatty\n");
        var result = await GantryProcess.RunAsync(new Dictionary<string, string>(), "check", file);
        Assert.Equal(1, result.ExitCode);
        Assert.Contains($"Error: configuration at {file} is invalid", result.Stderr);
        Assert.Contains("pg_port", result.Stderr);
        Assert.Contains("'abc'", result.Stderr);
        Assert.Contains("database", result.Stderr);
        Assert.Contains("mongo", result.Stderr);
        Assert.Contains("admin_listen", result.Stderr);
        Assert.Contains("99999", result.Stderr);
        Assert.Contains("log_level", result.Stderr);
        Assert.Contains("chatty", result.Stderr);
        Assert.Empty(result.Stdout);
    }

    [Fact]
    public async Task Missing_file_is_an_error()
    {
        var result = await GantryProcess.RunAsync(new Dictionary<string, string>(), "check", "/nonexistent/gantry.conf");
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("/nonexistent/gantry.conf", result.Stderr);
    }

    [Fact]
    public async Task Environment_overrides_file_which_overrides_default()
    {
        await using var gantry = await TestInstallation.CreateAsync("sqlite");

        // Default: gantry.db in the prefix.
        Assert.Equal(0, (await gantry.RunAsync("migrations", "bootstrap")).ExitCode);
        Assert.True(File.Exists(Path.Combine(gantry.Prefix, "gantry.db")));

        // File over default.
        var file = Path.Combine(gantry.Prefix, "gantry.conf");
        await File.WriteAllTextAsync(file, "sqlite_path = from-file.db\n");
        Assert.Equal(0, (await gantry.RunAsync("migrations", "bootstrap", "-c", file)).ExitCode);
        Assert.True(File.Exists(Path.Combine(gantry.Prefix, "from-file.db")));

        // Environment over file.
        gantry.Environment["GANTRY_SQLITE_PATH"] = "from-env.db";
        Assert.Equal(0, (await gantry.RunAsync("migrations", "bootstrap", "-c", file)).ExitCode);
        Assert.True(File.Exists(Path.Combine(gantry.Prefix, "from-env.db")));

        // A bad environment value is named with its variable.
        gantry.Environment["GANTRY_PG_TIMEOUT"] = "soon";
        var bad = await gantry.RunAsync("migrations", "list", "-c", file);
        Assert.Equal(1, bad.ExitCode);
        Assert.Contains("GANTRY_PG_TIMEOUT", bad.Stderr);
    }
}
