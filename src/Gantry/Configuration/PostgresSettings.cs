namespace Gantry.Configuration;

/// <summary>
/// Connection settings for one PostgreSQL server: the primary (<c>pg_*</c>) or the read-only
/// replica (<c>pg_ro_*</c>, each falling back to its <c>pg_*</c> twin).
/// </summary>
public sealed class PostgresSettings
{
    public required string Host { get; init; }
    public required int Port { get; init; }
    public required TimeSpan Timeout { get; init; }
    public required string User { get; init; }

    /// <summary>Null when no password is configured.</summary>
    public required string? Password { get; init; }

    public required string Database { get; init; }

    /// <summary>Null means the server's search_path decides.</summary>
    public required string? Schema { get; init; }

    public required bool Ssl { get; init; }
    public required bool SslRequired { get; init; }
    public required bool SslVerify { get; init; }

    /// <summary><c>tlsv1_1</c>, <c>tlsv1_2</c>, <c>tlsv1_3</c> or <c>any</c>.</summary>
    public required string SslVersion { get; init; }

    /// <summary>0 means no limit.</summary>
    public required int MaxConcurrentQueries { get; init; }

    public required TimeSpan SemaphoreTimeout { get; init; }

    /// <summary>Null means the driver's default; <see cref="TimeSpan.Zero"/> means never close idle connections.</summary>
    public required TimeSpan? KeepaliveTimeout { get; init; }

    /// <summary>Null means the driver's default.</summary>
    public required int? PoolSize { get; init; }

    /// <summary>Null means connection requests never queue.</summary>
    public required int? Backlog { get; init; }

    /// <summary>Leaves the password out, so the settings can be logged.</summary>
    public override string ToString() =>
        $"{User}@{(Host.Contains(':') ? $"[{Host}]" : Host)}:{Port}/{Database}{(Schema is null ? "" : $" schema={Schema}")}{(Ssl ? " ssl" : "")}";
}
