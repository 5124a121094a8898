using System.Data.Common;
using Gantry.Configuration;
using Gantry.Store;

namespace Gantry.Migrations;

/// <summary>
/// One schema operation, kept as data so that it can be printed, hashed and inspected before it runs.
/// </summary>
public abstract class MigrationOperation
{
    /// <summary>The SQL this operation sends to a database of the given kind, in order.</summary>
    public abstract IReadOnlyList<string> Statements(DatabaseKind kind);

    /// <summary>Runs the operation inside the step's transaction.</summary>
    public virtual async Task ExecuteAsync(MigrationContext context, CancellationToken cancellationToken)
    {
        foreach (var statement in Statements(context.Kind))
            await context.ExecuteAsync(statement, cancellationToken);
    }
}

/// <summary>What an operation runs against: one connection and the step's transaction.</summary>
public sealed class MigrationContext(DbConnection connection, DbTransaction transaction, DatabaseKind kind, Action<string> trace)
{
    public DbConnection Connection { get; } = connection;

    public DbTransaction Transaction { get; } = transaction;

    public DatabaseKind Kind { get; } = kind;

    public async Task ExecuteAsync(string sql, CancellationToken cancellationToken)
    {
        trace(sql);
        await using var command = Connection.CreateCommand();
        command.Transaction = Transaction;
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}

/// <summary>Raw SQL written for each database.</summary>
public sealed class SqlOperation(string postgres, string sqlite) : MigrationOperation
{
    public override IReadOnlyList<string> Statements(DatabaseKind kind) =>
        [kind == DatabaseKind.Postgres ? postgres : sqlite];
}

/// <summary>
/// Waits inside the step's transaction. Only test subsystems use it, to hold a step open long enough
/// to kill the process or race another one in the middle of it.
/// </summary>
public sealed class DelayOperation(int milliseconds) : MigrationOperation
{
    public int Milliseconds { get; } = milliseconds;

    public override IReadOnlyList<string> Statements(DatabaseKind kind) => [];

    public override Task ExecuteAsync(MigrationContext context, CancellationToken cancellationToken) =>
        Task.Delay(Milliseconds, cancellationToken);
}
