using System.Security.Cryptography;
using System.Text;
using Gantry.Configuration;
using Gantry.Store;

namespace Gantry.Migrations;

/// <summary>
/// A hash of what a migration does on one database, stored when it runs so that a definition edited
/// after release can be told apart from the one the database received. The "v1" prefix versions the
/// normalisation: changing how statements are normalised must not look like every migration changed.
/// </summary>
public static class MigrationChecksum
{
    public static string Compute(Migration migration, DatabaseKind kind)
    {
        var text = new StringBuilder("gantry-migration-v1\n");
        Append(text, "up", migration.Up, kind);
        if (migration.Finish is not null)
            Append(text, "finish", migration.Finish, kind);
        return "v1:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }

    private static void Append(StringBuilder text, string phase, MigrationStep step, DatabaseKind kind)
    {
        text.Append('[').Append(phase).Append("]\n");
        foreach (var operation in step.Operations)
        {
            foreach (var statement in operation.Statements(kind))
                text.Append(Normalize(statement)).Append(";\n");
        }
    }

    // Whitespace and trailing semicolons carry no meaning; collapsing them keeps reformatting from
    // being reported as a change.
    private static string Normalize(string statement) =>
        string.Join(' ', statement.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)).TrimEnd(';');
}
