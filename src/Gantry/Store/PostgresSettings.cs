namespace Gantry.Store;

/// <summary>How to reach PostgreSQL; built from the pg_* (or pg_ro_*) configuration properties.</summary>
public sealed record PostgresSettings(
    string Host,
    int Port,
    string User,
    string? Password,
    string Database,
    string? Schema,
    int TimeoutMilliseconds,
    bool Ssl,
    bool SslRequired,
    bool SslVerify,
    int PoolSize,
    string ApplicationName);
