using Gantry.Configuration;
using System.Data.Common;

namespace Gantry.Store;

/// <summary>
/// One datastore: how to reach it and what differs between PostgreSQL and SQLite.
/// Entity DAOs and the migration engine only talk to the database through this interface.
/// </summary>
public interface IDatabase : IAsyncDisposable
{
    DatabaseKind Kind { get; }

    /// <summary>What the console calls this database: the PostgreSQL database name or the SQLite file.</summary>
    string DisplayName { get; }

    /// <summary>Where it is, for error messages: host, port and user, or the file path.</summary>
    string Location { get; }

    /// <summary>What an error message calls it: "PostgreSQL at host:port, database 'name'" or "SQLite file path".</summary>
    string Description { get; }

    /// <summary>The SQL that differs on this database, and what its errors mean.</summary>
    ISqlDialect Dialect { get; }

    /// <summary>Opens a pooled connection, configured for Gantry (schema, pragmas, timeouts).</summary>
    Task<DbConnection> OpenAsync(CancellationToken cancellationToken = default);

    /// <summary>Runs the cheapest query: the database answers statements, not only connections.</summary>
    async Task PingAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await connection.ScalarAsync(null, "SELECT 1", cancellationToken);
    }

    /// <summary>True when the database itself exists (a SQLite file, a PostgreSQL database and schema).</summary>
    Task<bool> ExistsAsync(CancellationToken cancellationToken = default);

    /// <summary>Creates what must exist before the first table can be created (the schema, the file).</summary>
    Task PrepareAsync(CancellationToken cancellationToken = default);

    /// <summary>Names of the tables in Gantry's schema (or file), for reset and catalog checks.</summary>
    Task<IReadOnlyList<string>> ListTablesAsync(CancellationToken cancellationToken = default);

    /// <summary>Drops every table (and function) in Gantry's schema or file.</summary>
    Task DropEverythingAsync(CancellationToken cancellationToken = default);

    /// <summary>The cluster-wide mutex that serialises schema changes.</summary>
    IMigrationLock CreateMigrationLock(string ownerDescription);
}
