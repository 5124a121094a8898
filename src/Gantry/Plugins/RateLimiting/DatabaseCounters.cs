using System.Globalization;
using System.Text;
using Gantry.Store;

namespace Gantry.Plugins.RateLimiting;

/// <summary>
/// The <c>cluster</c> policy's counts, in a table of the node's database that every node sharing it reads
/// (Kong's <c>ratelimiting_metrics</c>: identifier, period, period_date, service_id, route_id, value):
/// one row per window, raised by an upsert so that concurrent nodes add up instead of overwriting each
/// other. The statements are the same on PostgreSQL and SQLite (both have INSERT … ON CONFLICT DO UPDATE);
/// the dialect binds the UUID columns. Rows whose window ended are deleted at most once a minute per node.
/// </summary>
public sealed class DatabaseCounters : ICounterStore
{
    private static readonly TimeSpan CleanupInterval = TimeSpan.FromMinutes(1);

    private readonly TransactionRunner _runner;
    private readonly string _table;
    private readonly string _increment;
    private long _nextCleanup;

    /// <param name="table">The counters' table, a constant of the plugin's migration (never user input).</param>
    public DatabaseCounters(IDatabase database, string table)
    {
        _runner = new TransactionRunner(database);
        _table = table;
        var dialect = database.Dialect;
        _increment = $"INSERT INTO {table} (identifier, period, period_date, service_id, route_id, value, ttl) "
            + $"VALUES (@identifier, @period, @period_date, {dialect.Parameter("service", ColumnStorage.Uuid)}, {dialect.Parameter("route", ColumnStorage.Uuid)}, @amount, @ttl) "
            + $"ON CONFLICT (identifier, period, period_date, service_id, route_id) DO UPDATE SET value = {table}.value + excluded.value";
        Description = $"the database ({database.Description})";
    }

    public string Description { get; }

    private ISqlDialect Dialect => _runner.Dialect;

    public async ValueTask<long[]> GetAsync(CounterScope scope, CounterWindow[] windows)
    {
        var sql = new StringBuilder($"SELECT period, period_date, value FROM {_table} WHERE identifier = @identifier AND service_id = ")
            .Append(Dialect.Parameter("service", ColumnStorage.Uuid)).Append(" AND route_id = ").Append(Dialect.Parameter("route", ColumnStorage.Uuid)).Append(" AND (");
        var parameters = new List<(string, object?)>(3 + windows.Length * 2)
        {
            ("identifier", scope.Identifier), ("service", Dialect.Uuid(scope.Service.ToString())), ("route", Dialect.Uuid(scope.Route.ToString())),
        };
        for (var i = 0; i < windows.Length; i++)
        {
            sql.Append(i == 0 ? "" : " OR ").Append(CultureInfo.InvariantCulture, $"(period = @p{i} AND period_date = @d{i})");
            parameters.Add(($"p{i}", windows[i].Period));
            parameters.Add(($"d{i}", windows[i].Start * 1000));
        }
        sql.Append(')');
        var rows = await _runner.ReadAsync(connection => connection.ListAsync(null, sql.ToString(),
            reader => (Period: reader.GetString(0), Date: Convert.ToInt64(reader.GetValue(1), CultureInfo.InvariantCulture), Value: Convert.ToInt64(reader.GetValue(2), CultureInfo.InvariantCulture)),
            CancellationToken.None, [.. parameters]), CancellationToken.None);
        var counts = new long[windows.Length];
        foreach (var row in rows)
        {
            for (var i = 0; i < windows.Length; i++)
            {
                if (windows[i].Period == row.Period && windows[i].Start * 1000 == row.Date)
                    counts[i] = row.Value;
            }
        }
        return counts;
    }

    public async ValueTask<long[]> AddAsync(CounterScope scope, CounterWindow[] windows, long amount)
    {
        await _runner.WriteAsync(async (connection, transaction) =>
        {
            foreach (var window in windows)
            {
                await connection.ExecuteAsync(transaction, _increment, CancellationToken.None,
                    ("identifier", scope.Identifier), ("period", window.Period), ("period_date", window.Start * 1000),
                    ("service", Dialect.Uuid(scope.Service.ToString())), ("route", Dialect.Uuid(scope.Route.ToString())),
                    ("amount", amount), ("ttl", window.End));
            }
            return true;
        }, CancellationToken.None);
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var next = Volatile.Read(ref _nextCleanup);
        if (now >= next && Interlocked.CompareExchange(ref _nextCleanup, now + (long)CleanupInterval.TotalSeconds, next) == next)
        {
            await _runner.WriteAsync((connection, transaction) =>
                connection.ExecuteAsync(transaction, $"DELETE FROM {_table} WHERE ttl <= @now", CancellationToken.None, ("now", now)), CancellationToken.None);
        }
        return await GetAsync(scope, windows);
    }
}
