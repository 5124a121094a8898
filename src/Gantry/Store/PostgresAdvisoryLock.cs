using Npgsql;

namespace Gantry.Store;

/// <summary>
/// A session-level advisory lock on a connection of its own, outside any transaction: it lasts exactly as
/// long as that session, so a holder that crashes releases it, and a long migration cannot outlive it.
/// </summary>
public sealed class PostgresAdvisoryLock : IMigrationLock
{
    // The lock key is (Gantry's namespace, the schema), so two Gantry installations in different schemas
    // of one database do not serialise each other.
    private const int Namespace = 0x47414E54; // "GANT"
    private readonly PostgresDatabase _database;
    private readonly string _owner;
    private readonly int _schemaKey;
    private NpgsqlConnection? _connection;
    private bool _held;

    public PostgresAdvisoryLock(PostgresDatabase database, string owner)
    {
        _database = database;
        _owner = owner;
        _schemaKey = StableHash(database.Schema);
    }

    public async Task<bool> TryAcquireAsync(CancellationToken cancellationToken = default)
    {
        if (_held)
            return true;
        _connection ??= await _database.OpenUnpooledAsync(Truncate(_owner, 63), cancellationToken);
        await using var command = new NpgsqlCommand("SELECT pg_try_advisory_lock(@ns, @key)", _connection);
        command.Parameters.AddWithValue("ns", Namespace);
        command.Parameters.AddWithValue("key", _schemaKey);
        _held = (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
        return _held;
    }

    public async Task<string?> DescribeHolderAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await _database.OpenAsync(cancellationToken);
        await using var command = (NpgsqlCommand)connection.CreateCommand();
        command.CommandText = """
            SELECT a.pid, coalesce(a.application_name, ''), coalesce(host(a.client_addr), 'local socket'),
                   extract(epoch FROM now() - a.backend_start)::bigint
              FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
             WHERE l.locktype = 'advisory' AND l.granted AND l.classid = @ns::oid AND l.objid = @key::oid AND l.objsubid = 2
               AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
            """;
        command.Parameters.AddWithValue("ns", (long)(uint)Namespace);
        command.Parameters.AddWithValue("key", (long)(uint)_schemaKey);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
            return null;
        var application = reader.GetString(1);
        return $"PostgreSQL backend pid {reader.GetInt32(0)}"
            + (application.Length > 0 ? $" ('{application}')" : "")
            + $", connected from {reader.GetString(2)} for {reader.GetInt64(3)}s";
    }

    public async Task EnsureHeldAsync(CancellationToken cancellationToken = default)
    {
        if (!_held || _connection is null)
            throw new InvalidOperationException("the migration lock is not held");
        try
        {
            await using var command = new NpgsqlCommand("SELECT 1", _connection);
            await command.ExecuteScalarAsync(cancellationToken);
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
        {
            _held = false;
            throw new DatabaseUnavailableException($"lost the migration lock: its session ended ({e.Message}); nothing more was run", e);
        }
    }

    public async Task ReleaseAsync()
    {
        if (_connection is null)
            return;
        try
        {
            if (_held && _connection.FullState == System.Data.ConnectionState.Open)
            {
                await using var command = new NpgsqlCommand("SELECT pg_advisory_unlock(@ns, @key)", _connection);
                command.Parameters.AddWithValue("ns", Namespace);
                command.Parameters.AddWithValue("key", _schemaKey);
                await command.ExecuteScalarAsync();
            }
        }
        catch (NpgsqlException)
        {
            // Closing the session below releases a session lock anyway.
        }
        finally
        {
            _held = false;
            await _connection.DisposeAsync();
            _connection = null;
        }
    }

    public ValueTask DisposeAsync() => new(ReleaseAsync());

    private static string Truncate(string value, int max) => value.Length <= max ? value : value[..max];

    // FNV-1a: string.GetHashCode is randomised per process, and every process must agree on the key.
    private static int StableHash(string value)
    {
        unchecked
        {
            var hash = 2166136261u;
            foreach (var c in value)
            {
                hash ^= c;
                hash *= 16777619u;
            }
            return (int)hash;
        }
    }
}
