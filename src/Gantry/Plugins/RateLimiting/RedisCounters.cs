using System.Globalization;
using System.Text.Json.Nodes;
using Gantry.Entities.Schema;
using StackExchange.Redis;

namespace Gantry.Plugins.RateLimiting;

/// <summary>
/// The <c>redis</c> policy's counts, under Kong's keys (route, service, identifier, window start in
/// milliseconds, period): read with one MGET, raised with INCRBY (whose answers are the new counts); the
/// request that creates a key sets its expiry to the window's length, without waiting for the answer.
/// </summary>
public sealed class RedisCounters : ICounterStore
{
    private readonly RedisConnections.RedisAddress _address;
    private readonly RedisConnections _connections;
    private readonly int _database;

    /// <summary>From a plugin's <c>redis</c> record (host, port, username, password, database, ssl, ssl_verify, server_name, timeout).</summary>
    public RedisCounters(JsonObject? redis, RedisConnections connections)
    {
        string? Text(string name) => redis?[name] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
        long Number(string name, long fallback) => redis?[name] is JsonValue v ? (long)SchemaValidator.ToDouble(v) : fallback;
        bool Flag(string name) => redis?[name] is JsonValue v && v.TryGetValue<bool>(out var b) && b;
        _address = new RedisConnections.RedisAddress(Text("host") ?? "127.0.0.1", (int)Number("port", 6379), Text("username"), Text("password"),
            Flag("ssl"), Flag("ssl_verify"), Text("server_name"), (int)Math.Clamp(Number("timeout", 2000), 1, int.MaxValue));
        _database = (int)Number("database", 0);
        _connections = connections;
    }

    public string Description => string.Create(CultureInfo.InvariantCulture, $"Redis at {_address.Host}:{_address.Port}");

    public async ValueTask<long[]> GetAsync(CounterScope scope, CounterWindow[] windows)
    {
        var values = await (await DatabaseAsync()).StringGetAsync(Keys(scope, windows));
        var counts = new long[values.Length];
        for (var i = 0; i < values.Length; i++)
            counts[i] = values[i].IsNull ? 0 : (long)values[i];
        return counts;
    }

    public async ValueTask<long[]> AddAsync(CounterScope scope, CounterWindow[] windows, long amount)
    {
        var keys = Keys(scope, windows);
        var database = await DatabaseAsync();
        var counts = new long[windows.Length];
        if (windows.Length == 1)
        {
            counts[0] = await database.StringIncrementAsync(keys[0], amount);
        }
        else
        {
            var batch = database.CreateBatch();
            var increments = new Task<long>[windows.Length];
            for (var i = 0; i < windows.Length; i++)
                increments[i] = batch.StringIncrementAsync(keys[i], amount);
            batch.Execute();
            for (var i = 0; i < windows.Length; i++)
                counts[i] = await increments[i];
        }
        // The request that created a window's key gives it the window's lifetime; later ones need not.
        for (var i = 0; i < windows.Length; i++)
        {
            if (counts[i] == amount)
                _ = database.KeyExpireAsync(keys[i], TimeSpan.FromSeconds(windows[i].End - windows[i].Start), CommandFlags.FireAndForget);
        }
        return counts;
    }

    private async Task<IDatabase> DatabaseAsync() => (await _connections.ForAsync(_address)).GetDatabase(_database);

    private static RedisKey[] Keys(CounterScope scope, CounterWindow[] windows)
    {
        var keys = new RedisKey[windows.Length];
        for (var i = 0; i < windows.Length; i++)
            keys[i] = string.Create(CultureInfo.InvariantCulture,
                $"ratelimit:{scope.Route}:{scope.Service}:{scope.Identifier}:{windows[i].Start * 1000}:{windows[i].Period}");
        return keys;
    }
}
