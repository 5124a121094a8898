using System.Data.Common;
using Gantry.Configuration;
using Gantry.Store;

namespace Gantry.DbLess;

/// <summary>
/// What the Admin API of a node without a database reads: whichever in-memory database holds the
/// configuration being served. A read that opens its connection just as a new configuration is swapped
/// in, and finds the old database disposed, opens the new one instead.
/// </summary>
internal sealed class ServedDatabase(Func<SqliteDatabase> current) : IDatabase
{
    public DatabaseKind Kind => DatabaseKind.Sqlite;

    public string DisplayName => current().DisplayName;

    public string Location => current().Location;

    public string Description => current().Description;

    public ISqlDialect Dialect => SqliteDialect.Instance;

    public async Task<DbConnection> OpenAsync(CancellationToken cancellationToken = default)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await current().OpenAsync(cancellationToken);
            }
            catch (ObjectDisposedException) when (attempt < 5)
            {
                // Swapped out between reading the current database and opening it: the next one is served.
            }
        }
    }

    public Task<bool> ExistsAsync(CancellationToken cancellationToken = default) => current().ExistsAsync(cancellationToken);

    public Task PrepareAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

    public Task<IReadOnlyList<string>> ListTablesAsync(CancellationToken cancellationToken = default) => current().ListTablesAsync(cancellationToken);

    public Task DropEverythingAsync(CancellationToken cancellationToken = default) =>
        throw new InvalidOperationException("the configuration of a node without a database is replaced through /config, never dropped");

    public IMigrationLock CreateMigrationLock(string ownerDescription) => current().CreateMigrationLock(ownerDescription);

    // The databases belong to the DbLessStore, which disposes them.
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
