namespace Gantry.Store;

/// <summary>The datastore cannot be reached; the message says where Gantry tried and why it failed.</summary>
public sealed class DatabaseUnavailableException(string message, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>"the database (PostgreSQL at 127.0.0.1:5432, database 'kong') cannot be reached: Failed to connect …: Connection refused".</summary>
    public static DatabaseUnavailableException Unreachable(IDatabase database, Exception cause) =>
        new($"the database ({database.Description}) cannot be reached: {Reason(cause)}", cause);

    /// <summary>The failure and what caused it, without the stack: Npgsql's "Failed to connect" alone does not say why.</summary>
    private static string Reason(Exception cause)
    {
        var reason = cause.Message.TrimEnd('.');
        for (var inner = cause.InnerException; inner is not null; inner = inner.InnerException)
        {
            if (!reason.Contains(inner.Message.TrimEnd('.'), StringComparison.Ordinal))
                reason += ": " + inner.Message.TrimEnd('.');
        }
        return reason;
    }
}
