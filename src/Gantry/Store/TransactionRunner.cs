using System.Data.Common;

namespace Gantry.Store;

/// <summary>
/// Runs the stores' work on a connection of one database and turns its failures into what the APIs
/// answer: a conflict with a concurrent transaction (deadlock, serialization failure, SQLite busy, a
/// constraint raced past the checks on a table the client did not name) runs the whole transaction
/// again, a few times, after a short random pause; a database that cannot be reached becomes
/// <see cref="DatabaseUnavailableException"/>. What the client can fix stays an <see cref="EntityException"/>.
/// </summary>
public sealed class TransactionRunner(IDatabase database)
{
    /// <summary>Attempts of one transaction before the conflict is reported (enough for 20 clients on one row).</summary>
    public const int MaxAttempts = 6;

    public IDatabase Database => database;

    public ISqlDialect Dialect => database.Dialect;

    /// <summary>
    /// Runs <paramref name="work"/> in a transaction and commits it. The work may run more than once, so
    /// it must not act outside the transaction (no events raised, no caches touched) before it returns.
    /// </summary>
    public async Task<T> WriteAsync<T>(Func<DbConnection, DbTransaction, Task<T>> work, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await using var connection = await database.OpenAsync(cancellationToken);
                await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
                if (Dialect.BeginWrite.Length > 0)
                    await connection.ExecuteAsync(transaction, Dialect.BeginWrite, cancellationToken);
                var result = await work(connection, transaction);
                await transaction.CommitAsync(cancellationToken);
                return result;
            }
            catch (Exception e) when (Conflict(e) && attempt < MaxAttempts && !cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(Backoff(attempt), cancellationToken);
            }
            catch (Exception e) when (Translate(e, attempt) is { } translated)
            {
                throw translated;
            }
        }
    }

    /// <summary>Runs a read on its own connection; a busy database is waited for as a write would be.</summary>
    public async Task<T> ReadAsync<T>(Func<DbConnection, Task<T>> work, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await using var connection = await database.OpenAsync(cancellationToken);
                return await work(connection);
            }
            catch (Exception e) when (Dialect.Classify(e).Kind == StoreFailureKind.Retryable && attempt < MaxAttempts && !cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(Backoff(attempt), cancellationToken);
            }
            catch (Exception e) when (Translate(e, attempt) is { } translated)
            {
                throw translated;
            }
        }
    }

    // Constraint violations that reach this far come from the tables the write keeps on the side (the
    // tags index, a child that appeared under a parent being deleted): running again sees the winner.
    private bool Conflict(Exception e) => e is not EntityException && Dialect.Classify(e).Kind
        is StoreFailureKind.Retryable or StoreFailureKind.UniqueViolation or StoreFailureKind.ForeignKeyViolation;

    private Exception? Translate(Exception e, int attempts)
    {
        if (e is EntityException or DatabaseUnavailableException or OperationCanceledException)
            return null;
        return Dialect.Classify(e).Kind switch
        {
            StoreFailureKind.Unavailable => DatabaseUnavailableException.Unreachable(database, e),
            StoreFailureKind.Retryable or StoreFailureKind.UniqueViolation or StoreFailureKind.ForeignKeyViolation => new DatabaseUnavailableException(
                $"the database ({database.Description}) is busy: the write conflicted with concurrent writes {attempts} times in a row; try again", e),
            _ => null,
        };
    }

    // 5-10 ms, then doubling up to 160-320 ms: spread out so that the transactions that collided do not collide again.
    private static TimeSpan Backoff(int attempt)
    {
        var ceiling = 10 * (1 << Math.Min(attempt - 1, 5));
        return TimeSpan.FromMilliseconds(ceiling / 2 + Random.Shared.Next(ceiling / 2 + 1));
    }
}
