using System.Data.Common;

namespace Gantry.Store;

/// <summary>
/// The one command helper of the stores: a statement with named parameters, on a connection and an
/// optional transaction, through Npgsql and Microsoft.Data.Sqlite alike. (Dapper would map typed rows,
/// but entity rows are mapped by schema at run time, so all it would save is these few lines.)
/// </summary>
public static class DbCommandExtensions
{
    /// <summary>Adds a named parameter; null becomes SQL NULL.</summary>
    public static DbCommand With(this DbCommand command, string name, object? value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value ?? DBNull.Value;
        command.Parameters.Add(parameter);
        return command;
    }

    /// <summary>A command in the transaction (when given) with the parameters bound; the caller disposes it.</summary>
    public static DbCommand Command(this DbConnection connection, DbTransaction? transaction, string sql, params (string Name, object? Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
            command.With(name, value);
        return command;
    }

    /// <summary>Runs a statement and returns the number of rows it changed.</summary>
    public static async Task<int> ExecuteAsync(this DbConnection connection, DbTransaction? transaction, string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        await using var command = connection.Command(transaction, sql, parameters);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>The first column of the first row, or null when there is no row (or it holds NULL).</summary>
    public static async Task<object?> ScalarAsync(this DbConnection connection, DbTransaction? transaction, string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        await using var command = connection.Command(transaction, sql, parameters);
        var value = await command.ExecuteScalarAsync(cancellationToken);
        return value is DBNull ? null : value;
    }

    /// <summary>Every row, each read by <paramref name="read"/>.</summary>
    public static async Task<List<T>> ListAsync<T>(this DbConnection connection, DbTransaction? transaction, string sql, Func<DbDataReader, T> read, CancellationToken cancellationToken,
        params (string Name, object? Value)[] parameters)
    {
        await using var command = connection.Command(transaction, sql, parameters);
        return await command.ListAsync(read, cancellationToken);
    }

    /// <summary>Every row of a prepared command, each read by <paramref name="read"/>.</summary>
    public static async Task<List<T>> ListAsync<T>(this DbCommand command, Func<DbDataReader, T> read, CancellationToken cancellationToken)
    {
        var rows = new List<T>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            rows.Add(read(reader));
        return rows;
    }

    /// <summary>Quotes an identifier (a table or column name) for both databases.</summary>
    public static string Quote(string identifier) => "\"" + identifier.Replace("\"", "\"\"") + "\"";
}
