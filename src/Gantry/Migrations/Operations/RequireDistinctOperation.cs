using System.Data.Common;
using Gantry.Configuration;

namespace Gantry.Migrations;

/// <summary>
/// Stops a contract step before it builds a unique index on values the previous release did not keep
/// unique, naming the rows that clash (the index build would only say that some value repeats, and
/// PostgreSQL hides even that from clients by default). Reads only; nothing to undo.
/// </summary>
/// <param name="column">The column the unique index will cover.</param>
/// <param name="shown">The column users know the rows by, shown for each clash.</param>
/// <param name="advice">What to do about the clashes, ending the message.</param>
public sealed class RequireDistinctOperation(string table, string column, string shown, string advice) : MigrationOperation
{
    private const int Listed = 10;

    public override string Describe() => $"check that {column} of {table} holds no value twice";

    public override IReadOnlyList<string> Statements(DatabaseKind kind) =>
    [
        $"SELECT {Sql.Quote(shown)} FROM {Sql.Quote(table)} WHERE {Sql.Quote(column)} IN (SELECT {Sql.Quote(column)} FROM {Sql.Quote(table)} "
        + $"WHERE {Sql.Quote(column)} IS NOT NULL GROUP BY {Sql.Quote(column)} HAVING count(*) > 1 ORDER BY {Sql.Quote(column)} LIMIT {Listed}) "
        + $"ORDER BY {Sql.Quote(column)}, {Sql.Quote(shown)}",
    ];

    public override OperationTraits Traits(DatabaseKind kind) => new(LockLevel.AccessShare, table, Scans: true);

    public override IReadOnlyList<MigrationOperation> Undo => [];

    public override async Task ExecuteAsync(MigrationContext context, CancellationToken cancellationToken)
    {
        var sql = Statements(context.Kind)[0];
        context.Trace(sql);
        var clashing = new List<string>();
        await using (var command = context.Connection.CreateCommand())
        {
            command.Transaction = context.Transaction;
            command.CommandText = sql;
            await using DbDataReader reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
                clashing.Add(reader.IsDBNull(0) ? "(null)" : $"'{reader.GetValue(0)}'");
        }
        if (clashing.Count > 0)
        {
            throw new MigrationException(MigrationFailure.StepFailed,
                $"migration {context.Subsystem}/{context.Migration} cannot finish: these {table} clash once {column} must be unique: {string.Join(", ", clashing)}"
                + $"{(clashing.Count >= Listed ? " (the first groups only)" : "")}. Nothing was changed by this step; {advice}");
        }
    }
}
