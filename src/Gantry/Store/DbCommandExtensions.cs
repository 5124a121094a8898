using System.Data.Common;

namespace Gantry.Store;

/// <summary>Provider-neutral helpers, so the same SQL runs through Npgsql and Microsoft.Data.Sqlite.</summary>
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
}
