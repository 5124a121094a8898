using System.Data.Common;
using System.Net;
using System.Net.Sockets;
using Microsoft.Data.Sqlite;
using Gantry.Configuration;
using Gantry.Store;
using Npgsql;

namespace Gantry.Tests.Support;

/// <summary>
/// One Gantry installation for one test: a prefix directory and an empty database of the given store
/// (a fresh database in the suite's throwaway PostgreSQL cluster, or a SQLite file in the prefix),
/// plus the environment that points bin/gantry (or the test host, for another release) at them.
/// </summary>
public sealed class TestInstallation : IAsyncDisposable
{
    private readonly string? _pgDatabase;

    private TestInstallation(string store, string prefix, string? pgDatabase, Dictionary<string, string> environment)
    {
        Store = store;
        Prefix = prefix;
        _pgDatabase = pgDatabase;
        Environment = environment;
    }

    public string Store { get; }

    public string Prefix { get; }

    public Dictionary<string, string> Environment { get; }

    public bool IsPostgres => Store == "postgres";

    public static async Task<TestInstallation> CreateAsync(string store)
    {
        var prefix = Directory.CreateTempSubdirectory("gantry-test-").FullName;
        var environment = new Dictionary<string, string>
        {
            ["GANTRY_PREFIX"] = prefix,
            ["GANTRY_DATABASE"] = store,
            // Listeners never collide between tests running in parallel.
            ["GANTRY_PROXY_LISTEN"] = $"127.0.0.1:{FreePort()}",
            ["GANTRY_ADMIN_LISTEN"] = $"127.0.0.1:{FreePort()}",
            ["GANTRY_STATUS_LISTEN"] = $"127.0.0.1:{FreePort()}",
        };
        string? database = null;
        if (store == "postgres")
        {
            database = "gt_" + Guid.NewGuid().ToString("N")[..16];
            await using (var connection = new NpgsqlConnection(PostgresServer.ConnectionString("postgres")))
            {
                await connection.OpenAsync();
                await using var create = new NpgsqlCommand($"CREATE DATABASE {database}", connection);
                await create.ExecuteNonQueryAsync();
            }
            environment["GANTRY_PG_HOST"] = PostgresServer.Host;
            environment["GANTRY_PG_PORT"] = PostgresServer.Port.ToString();
            environment["GANTRY_PG_USER"] = PostgresServer.User;
            environment["GANTRY_PG_DATABASE"] = database;
        }
        // "off": a node without a database (database = off), configured by declarative documents.
        else if (store is not ("sqlite" or "off"))
        {
            throw new ArgumentException($"unknown store {store}");
        }
        return new TestInstallation(store, prefix, database, environment);
    }

    public string SqlitePath => Path.Combine(Prefix, "gantry.db");

    public string AdminUrl => "http://" + Environment["GANTRY_ADMIN_LISTEN"];

    public string StatusUrl => "http://" + Environment["GANTRY_STATUS_LISTEN"];

    public Task<CliResult> RunAsync(params string[] arguments) => GantryProcess.RunAsync(Environment, arguments);

    public GantryProcess Start(params string[] arguments) => GantryProcess.Start(Environment, arguments);

    /// <summary>
    /// From now on, plays a release that knows these extra subsystems (<see cref="Releases"/>): the commands
    /// run the test host instead of bin/gantry.
    /// </summary>
    public void UseRelease(string releaseJson) => Environment[TestHost.ReleaseVariable] = WriteRelease(releaseJson);

    /// <summary>From now on, the commands run the previous release's own build (<see cref="PreviousRelease"/>); <see cref="UseCurrentRelease"/> undoes it.</summary>
    public void UsePreviousRelease() => Environment[PreviousRelease.BuildVariable] = PreviousRelease.Assembly;

    /// <summary>From now on, the commands run this checkout's bin/gantry.</summary>
    public void UseCurrentRelease()
    {
        Environment.Remove(PreviousRelease.BuildVariable);
        Environment.Remove(TestHost.ReleaseVariable);
    }

    /// <summary>Writes a release file into the prefix, for an environment that plays it (<see cref="TestHost.ReleaseVariable"/>).</summary>
    public string WriteRelease(string releaseJson)
    {
        var file = Path.Combine(Prefix, $"release-{Guid.NewGuid():N}.json");
        File.WriteAllText(file, releaseJson);
        return file;
    }

    /// <summary>The installation's store as a node opens it (its configuration read from this environment), for tests that drive the store directly.</summary>
    public IDatabase OpenDatabase()
    {
        var config = ConfLoader.Load(null, Environment).Config!;
        return IsPostgres
            ? new PostgresDatabase(config.Postgres, "gantry tests")
            : new SqliteDatabase(config.SqlitePath, (int)config.SqliteBusyTimeout.TotalMilliseconds);
    }

    public async Task<DbConnection> OpenAsync()
    {
        DbConnection connection = IsPostgres
            ? new NpgsqlConnection(PostgresServer.ConnectionString(_pgDatabase!))
            : new SqliteConnection($"Data Source={SqlitePath};Pooling=False");
        await connection.OpenAsync();
        if (!IsPostgres)
        {
            await using var pragma = connection.CreateCommand();
            pragma.CommandText = "PRAGMA busy_timeout = 5000";
            await pragma.ExecuteNonQueryAsync();
        }
        return connection;
    }

    public async Task<object?> ScalarAsync(string sql)
    {
        await using var connection = await OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        var value = await command.ExecuteScalarAsync();
        return value is DBNull ? null : value;
    }

    public async Task<long> CountAsync(string sql) => Convert.ToInt64(await ScalarAsync(sql));

    public async Task ExecuteAsync(string sql)
    {
        await using var connection = await OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    public async Task<bool> TableExistsAsync(string table) => IsPostgres
        ? await CountAsync($"SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename = '{table}'") == 1
        : File.Exists(SqlitePath) && await CountAsync($"SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '{table}'") == 1;

    public async Task<bool> ColumnExistsAsync(string table, string column) => IsPostgres
        ? await CountAsync($"SELECT count(*) FROM information_schema.columns WHERE table_schema = 'public' AND table_name = '{table}' AND column_name = '{column}'") == 1
        : await CountAsync($"SELECT count(*) FROM pragma_table_info('{table}') WHERE name = '{column}'") == 1;

    private static int _nextPort = 12000 + System.Environment.ProcessId % 500 * 30;

    /// <summary>
    /// A port for a listener the test will bind later. Ports come from below Linux's ephemeral range
    /// (32768 and up), so no outgoing connection can take one between this check and the bind, and a
    /// counter keeps the tests of this run from handing out the same port twice.
    /// </summary>
    public static int FreePort()
    {
        while (true)
        {
            var port = Interlocked.Increment(ref _nextPort);
            if (port > 32000)
                Interlocked.CompareExchange(ref _nextPort, 12000, port);
            try
            {
                using var listener = new TcpListener(IPAddress.Loopback, port);
                listener.Start();
                return port;
            }
            catch (SocketException)
            {
                // In use by something else; take the next one.
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        NpgsqlConnection.ClearAllPools();
        if (_pgDatabase is not null)
        {
            await using var connection = new NpgsqlConnection(PostgresServer.ConnectionString("postgres"));
            await connection.OpenAsync();
            await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS {_pgDatabase} WITH (FORCE)", connection);
            await drop.ExecuteNonQueryAsync();
        }
        try
        {
            Directory.Delete(Prefix, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>The suite's throwaway PostgreSQL cluster, started by bin/test.</summary>
public static class PostgresServer
{
    public static string Host => Required("GANTRY_TEST_PG_HOST");

    public static int Port => int.Parse(Required("GANTRY_TEST_PG_PORT"));

    public static string User => Required("GANTRY_TEST_PG_USER");

    public static string ConnectionString(string database) =>
        $"Host={Host};Port={Port};Username={User};Database={database};Pooling=False;Timeout=15";

    private static string Required(string name) =>
        System.Environment.GetEnvironmentVariable(name)
        ?? throw new InvalidOperationException($"{name} is not set: run the suite with bin/test, which starts a throwaway PostgreSQL");
}
