using System.Data.Common;
using Gantry.Configuration;
using Npgsql;

namespace Gantry.Store;

/// <summary>PostgreSQL through one pooled Npgsql data source.</summary>
public sealed class PostgresDatabase : IDatabase
{
    private readonly NpgsqlDataSource _dataSource;

    private readonly string _applicationName;

    /// <param name="settings">The pg_* settings.</param>
    /// <param name="applicationName">What pg_stat_activity shows for this process's sessions.</param>
    public PostgresDatabase(PostgresSettings settings, string applicationName)
    {
        Settings = settings;
        _applicationName = applicationName;
        ConnectionString = BuildConnectionString(settings, applicationName, pooling: true);
        _dataSource = NpgsqlDataSource.Create(ConnectionString);
        Dialect = new PostgresDialect(settings.Timeout);
    }

    public PostgresSettings Settings { get; }

    public string ConnectionString { get; }

    public DatabaseKind Kind => DatabaseKind.Postgres;

    public string DisplayName => Settings.Database;

    /// <summary>The schema every table lives in; the server's default when pg_schema is empty.</summary>
    public string Schema => string.IsNullOrEmpty(Settings.Schema) ? "public" : Settings.Schema;

    public string Location => $"{Settings.Host}:{Settings.Port} (database '{Settings.Database}', user '{Settings.User}')";

    public string Description => $"PostgreSQL at {Settings.Host}:{Settings.Port}, database '{Settings.Database}'";

    public ISqlDialect Dialect { get; }

    public async Task<DbConnection> OpenAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            return await _dataSource.OpenConnectionAsync(cancellationToken);
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException)
        {
            throw DatabaseUnavailableException.Unreachable(this, e);
        }
    }

    /// <summary>A connection of its own, outside the pool, so closing it really ends the session.</summary>
    internal async Task<NpgsqlConnection> OpenUnpooledAsync(string applicationName, CancellationToken cancellationToken)
    {
        var builder = new NpgsqlConnectionStringBuilder(BuildConnectionString(Settings, _applicationName, pooling: false))
        {
            ApplicationName = applicationName,
        };
        var connection = new NpgsqlConnection(builder.ConnectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            return connection;
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException)
        {
            await connection.DisposeAsync();
            throw DatabaseUnavailableException.Unreachable(this, e);
        }
    }

    public async Task<bool> ExistsAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = (NpgsqlCommand)connection.CreateCommand();
        command.CommandText = "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = @schema)";
        command.Parameters.AddWithValue("schema", Schema);
        return (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    public async Task PrepareAsync(CancellationToken cancellationToken = default)
    {
        if (await ExistsAsync(cancellationToken))
            return;
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"CREATE SCHEMA IF NOT EXISTS {QuoteIdentifier(Schema)}";
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<string>> ListTablesAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = (NpgsqlCommand)connection.CreateCommand();
        command.CommandText = "SELECT tablename FROM pg_tables WHERE schemaname = @schema ORDER BY tablename";
        command.Parameters.AddWithValue("schema", Schema);
        var tables = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            tables.Add(reader.GetString(0));
        return tables;
    }

    public async Task DropEverythingAsync(CancellationToken cancellationToken = default)
    {
        // Dropping the schema itself would also take grants and objects Gantry did not create
        // when pg_schema is a shared schema such as public; dropping what is in it is enough.
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var statements = new List<string>();
        await using (var command = (NpgsqlCommand)connection.CreateCommand())
        {
            command.Transaction = (NpgsqlTransaction)transaction;
            command.CommandText = """
                SELECT format('DROP TABLE IF EXISTS %I.%I CASCADE', schemaname, tablename)
                  FROM pg_tables WHERE schemaname = @schema
                UNION ALL
                SELECT format('DROP FUNCTION IF EXISTS %I.%I(%s) CASCADE', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid))
                  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                 WHERE n.nspname = @schema AND p.prokind = 'f'
                UNION ALL
                SELECT format('DROP SEQUENCE IF EXISTS %I.%I CASCADE', sequence_schema, sequence_name)
                  FROM information_schema.sequences WHERE sequence_schema = @schema
                """;
            command.Parameters.AddWithValue("schema", Schema);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
                statements.Add(reader.GetString(0));
        }
        foreach (var statement in statements)
        {
            await using var drop = connection.CreateCommand();
            drop.Transaction = transaction;
            drop.CommandText = statement;
            await drop.ExecuteNonQueryAsync(cancellationToken);
        }
        await transaction.CommitAsync(cancellationToken);
    }

    public IMigrationLock CreateMigrationLock(string ownerDescription) => new PostgresAdvisoryLock(this, ownerDescription);

    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();

    internal static string QuoteIdentifier(string identifier) => "\"" + identifier.Replace("\"", "\"\"") + "\"";

    private static string BuildConnectionString(PostgresSettings settings, string applicationName, bool pooling)
    {
        // Npgsql counts whole seconds, where 0 means "wait forever"; a timeout under a second rounds up.
        var seconds = settings.Timeout <= TimeSpan.Zero ? 0 : Math.Max(1, (int)Math.Ceiling(settings.Timeout.TotalSeconds));
        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = settings.Host,
            Port = settings.Port,
            Username = settings.User,
            Password = settings.Password,
            Database = settings.Database,
            Timeout = seconds == 0 ? 1024 : Math.Min(seconds, 1024),
            CommandTimeout = seconds,
            Pooling = pooling,
            MaxPoolSize = settings.PoolSize ?? 100,
            ApplicationName = applicationName,
            SslMode = settings.Ssl ? (settings.SslVerify ? SslMode.VerifyFull : settings.SslRequired ? SslMode.Require : SslMode.Prefer) : SslMode.Disable,
            // Gantry reads its settings from the conf file, never from the user's ~/.pgpass or PG* variables.
            Passfile = null,
        };
        if (!string.IsNullOrEmpty(settings.Schema))
            builder.SearchPath = settings.Schema;
        return builder.ConnectionString;
    }
}
