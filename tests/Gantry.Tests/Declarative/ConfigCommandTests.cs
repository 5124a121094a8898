using System.Diagnostics;
using System.Text;
using Gantry.Tests.Support;
using Xunit.Abstractions;

namespace Gantry.Tests.Declarative;

/// <summary>
/// <c>gantry config init|parse|db_import|db_export</c> through bin/gantry, on both stores: what an import
/// writes is what an export gives back, a document moves from SQLite to PostgreSQL unchanged, and an
/// import that fails, or is killed, changes nothing.
/// </summary>
public sealed class ConfigCommandTests(ITestOutputHelper output)
{
    private static string BurstFile => SharedReference.PathOf("reference/declarative/burst.yml");

    /// <summary>A bootstrapped, empty database of the store.</summary>
    private static async Task<TestInstallation> BootstrappedAsync(string store)
    {
        var gantry = await TestInstallation.CreateAsync(store);
        var bootstrap = await gantry.RunAsync("migrations", "bootstrap");
        Assert.True(bootstrap.ExitCode == 0, bootstrap.ToString());
        return gantry;
    }

    private static async Task<string> WriteAsync(TestInstallation gantry, string name, string text)
    {
        var path = Path.Combine(gantry.Prefix, name);
        await File.WriteAllTextAsync(path, text);
        return path;
    }

    private static async Task<CliResult> SucceedsAsync(TestInstallation gantry, params string[] arguments)
    {
        var result = await gantry.RunAsync(arguments);
        Assert.True(result.ExitCode == 0, result.ToString());
        return result;
    }

    private static async Task<string> ExportAsync(TestInstallation gantry) => (await SucceedsAsync(gantry, "config", "db_export")).Stdout;

    // Every field given (ids, timestamps, the hash of a basic-auth password under _transform: false), in
    // the nested form and with references by endpoint key; the export is flat, by id, with defaults.
    private const string Document = """
        _format_version: "3.0"
        _transform: false
        services:
        - id: 2b3c4d5e-0000-4000-8000-000000000001
          name: orders
          url: https://orders.internal:8443/v1
          created_at: 1700000000
          updated_at: 1700000001
          tags: [team-a]
          routes:
          - id: 2b3c4d5e-0000-4000-8000-000000000011
            name: orders-by-id
            paths: ["~/orders/\\d+$", /orders]
            methods: [GET]
            created_at: 1700000002
            updated_at: 1700000002
            plugins:
            - id: 2b3c4d5e-0000-4000-8000-000000000021
              name: correlation-id
              config: {header_name: X-Request-Id}
              created_at: 1700000003
              updated_at: 1700000003
        consumers:
        - id: 2b3c4d5e-0000-4000-8000-000000000031
          username: alice
          custom_id: "1234"
          created_at: 1700000004
          updated_at: 1700000004
          basicauth_credentials:
          - id: 2b3c4d5e-0000-4000-8000-000000000041
            username: alice
            password: 5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8
            created_at: 1700000005
        keyauth_credentials:
        - id: 2b3c4d5e-0000-4000-8000-000000000051
          consumer: alice
          key: "true"
          created_at: 1700000006
        acls:
        - id: 2b3c4d5e-0000-4000-8000-000000000061
          consumer: {username: alice}
          group: admins
          created_at: 1700000007
        """;

    private const string Expected = """
        _format_version: "3.0"
        _transform: false
        services:
        - connect_timeout: 60000
          created_at: 1700000000
          enabled: true
          host: orders.internal
          id: 2b3c4d5e-0000-4000-8000-000000000001
          name: orders
          path: /v1
          port: 8443
          protocol: https
          read_timeout: 60000
          retries: 5
          tags:
          - team-a
          updated_at: 1700000001
          write_timeout: 60000
        routes:
        - created_at: 1700000002
          https_redirect_status_code: 426
          id: 2b3c4d5e-0000-4000-8000-000000000011
          methods:
          - GET
          name: orders-by-id
          path_handling: v0
          paths:
          - ~/orders/\d+$
          - /orders
          preserve_host: false
          protocols:
          - http
          - https
          regex_priority: 0
          request_buffering: true
          response_buffering: true
          service: 2b3c4d5e-0000-4000-8000-000000000001
          strip_path: true
          updated_at: 1700000002
        consumers:
        - created_at: 1700000004
          custom_id: "1234"
          id: 2b3c4d5e-0000-4000-8000-000000000031
          updated_at: 1700000004
          username: alice
        plugins:
        - config:
            echo_downstream: false
            generator: uuid#counter
            header_name: X-Request-Id
          created_at: 1700000003
          enabled: true
          id: 2b3c4d5e-0000-4000-8000-000000000021
          name: correlation-id
          protocols:
          - grpc
          - grpcs
          - http
          - https
          route: 2b3c4d5e-0000-4000-8000-000000000011
          updated_at: 1700000003
        acls:
        - consumer: 2b3c4d5e-0000-4000-8000-000000000031
          created_at: 1700000007
          group: admins
          id: 2b3c4d5e-0000-4000-8000-000000000061
        basicauth_credentials:
        - consumer: 2b3c4d5e-0000-4000-8000-000000000031
          created_at: 1700000005
          id: 2b3c4d5e-0000-4000-8000-000000000041
          password: 5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8
          username: alice
        keyauth_credentials:
        - consumer: 2b3c4d5e-0000-4000-8000-000000000031
          created_at: 1700000006
          id: 2b3c4d5e-0000-4000-8000-000000000051
          key: "true"

        """;

    [Theory]
    [InlineData("postgres")]
    [InlineData("sqlite")]
    public async Task Import_then_export_gives_the_expected_document(string store)
    {
        await using var gantry = await BootstrappedAsync(store);
        var file = await WriteAsync(gantry, "kong.yml", Document);
        var import = await SucceedsAsync(gantry, "config", "db_import", file);
        Assert.Contains("import successful: 7 created, 0 updated", import.Stdout);
        Assert.Contains("  services: 1 created, 0 updated", import.Stdout);
        Assert.Equal(Expected.ReplaceLineEndings("\n"), await ExportAsync(gantry));

        // Again: every entity is replaced by itself, and the export does not move.
        var again = await SucceedsAsync(gantry, "config", "db_import", file);
        Assert.Contains("import successful: 0 created, 7 updated", again.Stdout);
        var exportFile = Path.Combine(gantry.Prefix, "exported.yml");
        var export = await SucceedsAsync(gantry, "config", "db_export", exportFile);
        Assert.Contains("exported 7 entities to " + exportFile, export.Stdout);
        Assert.Equal(Expected.ReplaceLineEndings("\n"), await File.ReadAllTextAsync(exportFile));
    }

    [Fact]
    public async Task A_document_moves_from_sqlite_to_postgres_unchanged()
    {
        await using var sqlite = await BootstrappedAsync("sqlite");
        await using var postgres = await BootstrappedAsync("postgres");
        // Kong's own 1.1 file (1,090 entities) and the example config init writes, nested, with generated ids.
        await SucceedsAsync(sqlite, "config", "db_import", BurstFile);
        await SucceedsAsync(sqlite, "config", "init", Path.Combine(sqlite.Prefix, "example.yml"));
        await SucceedsAsync(sqlite, "config", "db_import", Path.Combine(sqlite.Prefix, "example.yml"));
        var fromSqlite = Path.Combine(sqlite.Prefix, "from-sqlite.yml");
        await SucceedsAsync(sqlite, "config", "db_export", fromSqlite);

        var import = await SucceedsAsync(postgres, "config", "db_import", fromSqlite);
        Assert.Contains("import successful: 1100 created, 0 updated", import.Stdout);
        var fromPostgres = await ExportAsync(postgres);
        Assert.Equal(await File.ReadAllTextAsync(fromSqlite), fromPostgres);
        Assert.Equal(236 + 1, await postgres.CountAsync("SELECT count(*) FROM services"));
        Assert.Equal(95 + 2, await postgres.CountAsync("SELECT count(*) FROM plugins"));
    }

    [Theory]
    [InlineData("postgres")]
    [InlineData("sqlite")]
    public async Task An_import_that_fails_changes_nothing(string store)
    {
        await using var gantry = await BootstrappedAsync(store);
        await SucceedsAsync(gantry, "config", "db_import", await WriteAsync(gantry, "kong.yml", Document));
        var before = await ExportAsync(gantry);

        // An error in the document: nothing is written, every problem is named.
        var invalid = await gantry.RunAsync("config", "db_import", await WriteAsync(gantry, "invalid.yml", """
            _format_version: "3.0"
            services:
            - name: new-one
              host: new.test
            - name: broken
              port: 99999
            """));
        Assert.True(invalid.ExitCode == 8, invalid.ToString());
        Assert.Contains("Error: service 'broken': host: required field missing", invalid.Stderr);
        Assert.Contains("Error: service 'broken': port: value should be between 0 and 65535", invalid.Stderr);
        Assert.Contains("nothing was changed", invalid.Stderr);
        Assert.Equal(before, await ExportAsync(gantry));

        // A document valid on its own that the database refuses half way (its last service takes a name
        // the database already holds under another id): the services before it are rolled back too.
        var clash = await gantry.RunAsync("config", "db_import", await WriteAsync(gantry, "clash.yml", """
            _format_version: "3.0"
            services:
            - name: aaa-first
              host: a.test
            - id: ffffffff-0000-4000-8000-000000000001
              name: orders
              host: b.test
            """));
        Assert.True(clash.ExitCode == 1, clash.ToString());
        Assert.Contains("Error: ", clash.Stderr);
        Assert.Contains("orders", clash.Stderr);
        Assert.Equal(before, await ExportAsync(gantry));
        Assert.Equal(1, await gantry.CountAsync("SELECT count(*) FROM services"));
    }

    [Theory]
    [InlineData("postgres")]
    [InlineData("sqlite")]
    public async Task An_import_killed_half_way_leaves_the_database_as_it_was(string store)
    {
        await using var gantry = await BootstrappedAsync(store);
        await SucceedsAsync(gantry, "config", "db_import", await WriteAsync(gantry, "kong.yml", Document));
        var before = await ExportAsync(gantry);
        var large = new StringBuilder("_format_version: \"3.0\"\nservices:\n");
        for (var i = 0; i < 5000; i++)
            large.Append($"- name: bulk-{i}\n  host: h{i}.test\n  routes:\n  - name: bulk-route-{i}\n    paths: [/bulk/{i}]\n");
        var file = await WriteAsync(gantry, "large.yml", large.ToString());

        await using (var import = gantry.Start("config", "db_import", file))
        {
            await import.WaitForOutputAsync("importing: 500 of 10000 entities written", TimeSpan.FromMinutes(2));
            Assert.False(import.HasExited, "the import finished before it could be killed");
            import.KillHard();
            var killed = await import.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.NotEqual(0, killed.ExitCode);
            Assert.DoesNotContain("import successful", killed.Stdout);
        }
        Assert.Equal(before, await ExportAsync(gantry));
        Assert.Equal(1, await gantry.CountAsync("SELECT count(*) FROM services"));

        // Nothing is left locked or half-written: the same import runs to the end afterwards.
        var clock = Stopwatch.StartNew();
        var complete = await SucceedsAsync(gantry, "config", "db_import", file);
        output.WriteLine($"db_import of 10,000 entities ({store}): {clock.Elapsed.TotalSeconds:F1}s");
        Assert.Contains("import successful: 10000 created, 0 updated", complete.Stdout);
        Assert.Equal(5001, await gantry.CountAsync("SELECT count(*) FROM services"));
    }

    [Fact]
    public async Task Config_parse_names_each_problem_of_a_broken_file()
    {
        await using var gantry = await TestInstallation.CreateAsync("sqlite");
        var broken = await gantry.RunAsync("config", "parse", await WriteAsync(gantry, "broken.yml", """
            _format_version: "3.0"
            services:
            - name: svc
              host: a.test
              routes:
              - name: no-match
            - name: svc
              host: b.test
            consumers:
            - custom_id: ""
            plugins:
            - name: not-a-plugin
              service: missing
            """));
        Assert.True(broken.ExitCode == 8, broken.ToString());
        var lines = broken.Stderr.Split('\n');
        Assert.Contains("Error: service 'svc': uniqueness violation: 'services' entity with name set to 'svc' already declared", lines);
        Assert.Contains(lines, l => l.StartsWith("Error: route 'no-match': must set one of 'methods', 'hosts', 'headers', 'paths'", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("Error: consumer '", StringComparison.Ordinal) && l.Contains("custom_id: length must be at least 1"));
        Assert.Contains(lines, l => l.StartsWith("Error: plugin 'not-a-plugin'", StringComparison.Ordinal) || l.Contains("plugin 'not-a-plugin' not enabled"));
        Assert.Contains(lines, l => l.Contains("service: invalid reference 'service: missing' (no such entry in 'services')"));
        Assert.Contains(lines, l => l.EndsWith("broken.yml is invalid: 5 errors; nothing was changed", StringComparison.Ordinal));
        Assert.False(File.Exists(gantry.SqlitePath), "parse opened the database");

        var valid = await SucceedsAsync(gantry, "config", "parse", BurstFile);
        Assert.Contains("parse successful", valid.Stdout);
    }

    [Fact]
    public async Task Config_init_writes_an_example_that_loads_and_never_overwrites()
    {
        await using var gantry = await BootstrappedAsync("sqlite");
        var file = Path.Combine(gantry.Prefix, "kong.yml");
        await SucceedsAsync(gantry, "config", "init", file);
        Assert.StartsWith("# ", await File.ReadAllTextAsync(file));
        await SucceedsAsync(gantry, "config", "parse", file);
        await File.AppendAllTextAsync(file, "# edited\n");
        var again = await gantry.RunAsync("config", "init", file);
        Assert.Equal(1, again.ExitCode);
        Assert.Contains("already exists", again.Stderr);
        Assert.EndsWith("# edited\n", await File.ReadAllTextAsync(file));
        var import = await SucceedsAsync(gantry, "config", "db_import", file);
        Assert.Contains("import successful: 10 created, 0 updated", import.Stdout);
    }

    [Fact]
    public async Task Import_refuses_a_database_that_is_not_bootstrapped()
    {
        await using var gantry = await TestInstallation.CreateAsync("postgres");
        var file = await WriteAsync(gantry, "kong.yml", Document);
        var import = await gantry.RunAsync("config", "db_import", file);
        Assert.True(import.ExitCode == 3, import.ToString());
        Assert.Contains("Error: Database needs bootstrapping; run 'gantry migrations bootstrap'", import.Stderr);
        var export = await gantry.RunAsync("config", "db_export");
        Assert.Equal(3, export.ExitCode);
    }

    [Theory]
    [InlineData("postgres")]
    [InlineData("sqlite")]
    public async Task Deck_finds_no_drift_on_a_node_filled_by_db_import(string store)
    {
        await using var gantry = await BootstrappedAsync(store);
        await SucceedsAsync(gantry, "config", "db_import", BurstFile);
        await SucceedsAsync(gantry, "config", "db_import", await WriteAsync(gantry, "kong.yml", Document));
        await using var node = gantry.Start("start");
        await node.WaitForOutputAsync("started", TimeSpan.FromSeconds(60));

        var dumpFile = Path.Combine(gantry.Prefix, "dumped.yaml");
        var dump = await DeckAsync(gantry.AdminUrl, gantry.Prefix, "dump", "-o", dumpFile);
        Assert.True(dump.ExitCode == 0, dump.Output);
        var dumped = await File.ReadAllTextAsync(dumpFile);
        Assert.Contains("4test-any.something-static.80", dumped);
        Assert.Contains("orders-by-id", dumped);
        var diff = await DeckAsync(gantry.AdminUrl, gantry.Prefix, "diff", "-s", dumpFile, "--non-zero-exit-code");
        Assert.True(diff.ExitCode == 0, "deck diff of its dump found drift:\n" + diff.Output);
        var sync = await DeckAsync(gantry.AdminUrl, gantry.Prefix, "sync", "-s", dumpFile);
        Assert.True(sync.ExitCode == 0, sync.Output);
        Assert.Contains("Created: 0", sync.Output);
        Assert.Contains("Updated: 0", sync.Output);
        Assert.Contains("Deleted: 0", sync.Output);
    }

    private static async Task<(int ExitCode, string Output)> DeckAsync(string admin, string workDirectory, params string[] arguments)
    {
        var start = new ProcessStartInfo("deck") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = workDirectory };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        start.ArgumentList.Add("--kong-addr");
        start.ArgumentList.Add(admin);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }
}
