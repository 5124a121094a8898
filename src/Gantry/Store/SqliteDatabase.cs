using Gantry.Configuration;
using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace Gantry.Store;

/// <summary>The embedded datastore: one SQLite file in write-ahead-log mode, with a busy timeout so that
/// a node and a migration command can share it.</summary>
public sealed class SqliteDatabase : IDatabase
{
    private readonly string _connectionString;
    private readonly int _busyTimeoutMilliseconds;

    public SqliteDatabase(string path, int busyTimeoutMilliseconds)
    {
        Path = System.IO.Path.GetFullPath(path);
        _busyTimeoutMilliseconds = busyTimeoutMilliseconds;
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            DefaultTimeout = Math.Max(1, busyTimeoutMilliseconds / 1000),
            ForeignKeys = true,
        }.ConnectionString;
    }

    public string Path { get; }

    public DatabaseKind Kind => DatabaseKind.Sqlite;

    public string DisplayName => Path;

    public string Location => Path;

    public string Description => "SQLite file " + Path;

    public ISqlDialect Dialect => SqliteDialect.Instance;

    public async Task<DbConnection> OpenAsync(CancellationToken cancellationToken = default)
    {
        var directory = System.IO.Path.GetDirectoryName(Path);
        if (!string.IsNullOrEmpty(directory))
            Directory.CreateDirectory(directory);
        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            await using var command = connection.CreateCommand();
            // WAL lets readers (the proxy's snapshot builder) run while a writer commits.
            command.CommandText = $"PRAGMA busy_timeout = {_busyTimeoutMilliseconds}; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;";
            await command.ExecuteNonQueryAsync(cancellationToken);
            return connection;
        }
        catch (Exception e) when (e is SqliteException or IOException or UnauthorizedAccessException)
        {
            await connection.DisposeAsync();
            throw DatabaseUnavailableException.Unreachable(this, e);
        }
    }

    public Task<bool> ExistsAsync(CancellationToken cancellationToken = default) => Task.FromResult(File.Exists(Path));

    public async Task PrepareAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<string>> ListTablesAsync(CancellationToken cancellationToken = default)
    {
        var tables = new List<string>();
        if (!File.Exists(Path))
            return tables;
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name";
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            tables.Add(reader.GetString(0));
        return tables;
    }

    public async Task DropEverythingAsync(CancellationToken cancellationToken = default)
    {
        var tables = await ListTablesAsync(cancellationToken);
        await using var connection = await OpenAsync(cancellationToken);
        await using (var off = connection.CreateCommand())
        {
            // Tables are dropped in name order, not dependency order.
            off.CommandText = "PRAGMA foreign_keys = OFF";
            await off.ExecuteNonQueryAsync(cancellationToken);
        }
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        foreach (var table in tables)
        {
            await using var drop = connection.CreateCommand();
            drop.Transaction = transaction;
            drop.CommandText = $"DROP TABLE IF EXISTS \"{table.Replace("\"", "\"\"")}\"";
            await drop.ExecuteNonQueryAsync(cancellationToken);
        }
        await transaction.CommitAsync(cancellationToken);
    }

    public IMigrationLock CreateMigrationLock(string ownerDescription) => new FileMigrationLock(Path + ".migrations.lock", ownerDescription);

    public ValueTask DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        return ValueTask.CompletedTask;
    }
}
