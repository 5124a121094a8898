using System.Data.Common;
using Gantry.Configuration;
using Gantry.Store;

namespace Gantry.Migrations;

/// <summary>
/// One schema operation, kept as data so that it can be planned, printed, hashed, linted and undone
/// before or after it runs. Each operation is one journalled step: it commits with its journal row, or,
/// when it cannot run inside a transaction (CREATE INDEX CONCURRENTLY), is journalled around itself
/// and is written so that running it again is harmless.
/// </summary>
public abstract class MigrationOperation
{
    /// <summary>A short human description, such as "add column label to items".</summary>
    public abstract string Describe();

    /// <summary>The SQL this operation sends to a database of the given kind, in order.</summary>
    public abstract IReadOnlyList<string> Statements(DatabaseKind kind);

    /// <summary>What running it costs other sessions on the given database.</summary>
    public abstract OperationTraits Traits(DatabaseKind kind);

    /// <summary>The operations that undo this one, in order; null when it cannot be undone.</summary>
    public virtual IReadOnlyList<MigrationOperation>? Undo => null;

    /// <summary>
    /// Why this operation may not run in an expand (Up) step, where the previous release still reads and
    /// writes the schema; null when it may. <paramref name="earlier"/> describes the operations before it
    /// in the same migration.
    /// </summary>
    public virtual string? ExpandViolation(ExpandLintContext earlier) => null;

    /// <summary>Lets the lint know what this operation established for the operations after it.</summary>
    public virtual void Contribute(ExpandLintContext context)
    {
    }

    /// <summary>Whether the database shows this operation's effect, for 'migrations repair'.</summary>
    public virtual Task<CatalogFinding> InspectAsync(Catalog catalog, CancellationToken cancellationToken) =>
        Task.FromResult(CatalogFinding.Unknown);

    /// <summary>Runs the operation: inside the step's transaction, or on its own when it is not transactional.</summary>
    public virtual async Task ExecuteAsync(MigrationContext context, CancellationToken cancellationToken)
    {
        foreach (var statement in Statements(context.Kind))
            await context.ExecuteAsync(statement, cancellationToken);
    }

    public override string ToString() => Describe();
}

/// <summary>
/// What an operation runs against: one connection, and the step's transaction when it has one (an
/// operation that is not transactional gets the connection alone and manages its own transactions).
/// </summary>
public sealed class MigrationContext(DbConnection connection, DbTransaction? transaction, DatabaseKind kind, Action<string> trace,
    IMigrationReporter reporter, string subsystem, string migration)
{
    /// <summary>Where long operations (backfills) report their progress.</summary>
    public IMigrationReporter Reporter { get; } = reporter;

    public string Subsystem { get; } = subsystem;

    public string Migration { get; } = migration;

    public DbConnection Connection { get; } = connection;

    public DbTransaction? Transaction { get; } = transaction;

    public DatabaseKind Kind { get; } = kind;

    public Action<string> Trace { get; } = trace;

    public async Task ExecuteAsync(string sql, CancellationToken cancellationToken)
    {
        Trace(sql);
        await using var command = Connection.CreateCommand();
        command.Transaction = Transaction;
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<object?> ScalarAsync(string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        await using var command = Connection.CreateCommand();
        command.Transaction = Transaction;
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
            command.With(name, value);
        var result = await command.ExecuteScalarAsync(cancellationToken);
        return result is DBNull ? null : result;
    }
}
