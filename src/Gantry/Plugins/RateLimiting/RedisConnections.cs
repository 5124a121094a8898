using System.Collections.Concurrent;
using StackExchange.Redis;

namespace Gantry.Plugins.RateLimiting;

/// <summary>
/// The <c>redis</c> policy's connections: one multiplexer per distinct Redis server and credentials, shared
/// by every instance on the node and kept across configuration snapshots, since a multiplexer is meant to
/// live as long as the process and opening one per request or per snapshot would flood Redis with connections.
/// </summary>
public sealed class RedisConnections : IDisposable
{
    private readonly ConcurrentDictionary<RedisAddress, Lazy<Task<ConnectionMultiplexer>>> _connections = new();

    public readonly record struct RedisAddress(string Host, int Port, string? Username, string? Password, bool Ssl, bool SslVerify, string? ServerName, int TimeoutMs);

    /// <summary>The server's multiplexer, connected once; a first connection that threw is tried afresh by the next request.</summary>
    public async Task<ConnectionMultiplexer> ForAsync(RedisAddress address)
    {
        var connection = _connections.GetOrAdd(address, a => new Lazy<Task<ConnectionMultiplexer>>(() => ConnectAsync(a)));
        try
        {
            return await connection.Value;
        }
        catch
        {
            _connections.TryRemove(new KeyValuePair<RedisAddress, Lazy<Task<ConnectionMultiplexer>>>(address, connection));
            throw;
        }
    }

    private static Task<ConnectionMultiplexer> ConnectAsync(RedisAddress address)
    {
        var options = new ConfigurationOptions
        {
            EndPoints = { { address.Host, address.Port } },
            User = address.Username,
            Password = address.Password,
            Ssl = address.Ssl,
            SslHost = address.ServerName,
            ConnectTimeout = address.TimeoutMs,
            SyncTimeout = address.TimeoutMs,
            AsyncTimeout = address.TimeoutMs,
            // The node starts even when Redis is down, and reconnects by itself once it is back.
            AbortOnConnectFail = false,
            // A request never waits for a reconnection: it fails at once, and fault_tolerant decides.
            BacklogPolicy = BacklogPolicy.FailFast,
            ConnectRetry = 1,
        };
        if (address.Ssl && !address.SslVerify)
            options.CertificateValidation += (_, _, _, _) => true;
        return ConnectionMultiplexer.ConnectAsync(options);
    }

    public void Dispose()
    {
        foreach (var connection in _connections.Values.Where(c => c.IsValueCreated && c.Value.IsCompletedSuccessfully))
            connection.Value.Result.Dispose();
    }
}
