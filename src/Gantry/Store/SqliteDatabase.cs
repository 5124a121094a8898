using Gantry.Configuration;
using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace Gantry.Store;

/// <summary>
/// The embedded datastore: one SQLite file in write-ahead-log mode, with a busy timeout so that a node
/// and a migration command can share it. <see cref="CreateInMemory"/> makes the same store in memory
/// instead, for nodes without a database (database = off).
/// </summary>
public sealed class SqliteDatabase : IDatabase
{
    private readonly string _connectionString;
    private readonly int _busyTimeoutMilliseconds;

    // In memory only: the database lives while one connection to it is open, so this one stays open
    // until the database is disposed. Null for a file.
    private readonly SqliteConnection? _keepAlive;
    private volatile bool _disposed;

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

    private SqliteDatabase(string name)
    {
        Path = name;
        _busyTimeoutMilliseconds = 5000;
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = name,
            Mode = SqliteOpenMode.Memory,
            Cache = SqliteCacheMode.Shared,
            // A pooled connection left idle would keep a replaced configuration's database in memory.
            Pooling = false,
            ForeignKeys = true,
        }.ConnectionString;
        _keepAlive = new SqliteConnection(_connectionString);
        _keepAlive.Open();
    }

    /// <summary>
    /// A new, empty SQLite database in this process's memory, under a name of its own so that each one is
    /// separate; every connection of this object reaches it, and it is gone once disposed.
    /// </summary>
    public static SqliteDatabase CreateInMemory() => new("gantry-memory-" + Guid.NewGuid().ToString("N"));

    /// <summary>
    /// A new database in memory holding a copy of this one (SQLite's online backup): schemas bootstrapped
    /// once are copied in a few milliseconds instead of migrated again.
    /// </summary>
    public async Task<SqliteDatabase> CopyToMemoryAsync(CancellationToken cancellationToken = default)
    {
        var copy = CreateInMemory();
        await using var source = (SqliteConnection)await OpenAsync(cancellationToken);
        source.BackupDatabase(copy._keepAlive!);
        return copy;
    }

    /// <summary>The file, or for a database in memory its name.</summary>
    public string Path { get; }

    public bool InMemory => _keepAlive is not null;

    public DatabaseKind Kind => DatabaseKind.Sqlite;

    public string DisplayName => Path;

    public string Location => InMemory ? "memory" : Path;

    public string Description => InMemory ? "SQLite database in memory " + Path : "SQLite file " + Path;

    public ISqlDialect Dialect => SqliteDialect.Instance;

    public async Task<DbConnection> OpenAsync(CancellationToken cancellationToken = default)
    {
        // SQLite is synchronous: a call from a proxied request on a socket thread (proxy_inline_io) would hold up
        // every connection of that thread, so the request continues on the thread pool from here.
        await Node.InlineIo.LeaveSocketThreadAsync();
        if (InMemory)
            return await OpenInMemoryAsync(cancellationToken);
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

    private async Task<DbConnection> OpenInMemoryAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        // Opened once the database was disposed, the connection would have made a new, empty one under the
        // same name: refuse it. _disposed is set before the last connection closes, so this never misses.
        if (_disposed)
        {
            await connection.DisposeAsync();
            throw new ObjectDisposedException(Description, "this in-memory database was replaced and disposed");
        }
        return connection;
    }

    public Task<bool> ExistsAsync(CancellationToken cancellationToken = default) => Task.FromResult(InMemory ? !_disposed : File.Exists(Path));

    public async Task PrepareAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<string>> ListTablesAsync(CancellationToken cancellationToken = default)
    {
        var tables = new List<string>();
        if (!InMemory && !File.Exists(Path))
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

    // Nothing outside this process can reach a database in memory: a lock of this object is enough.
    public IMigrationLock CreateMigrationLock(string ownerDescription) =>
        InMemory ? new ProcessMigrationLock(_memoryLock, ownerDescription) : new FileMigrationLock(Path + ".migrations.lock", ownerDescription);

    private readonly SemaphoreSlim _memoryLock = new(1, 1);

    public async ValueTask DisposeAsync()
    {
        if (_keepAlive is not null)
        {
            _disposed = true;
            await _keepAlive.DisposeAsync();
            return;
        }
        SqliteConnection.ClearAllPools();
    }
}
