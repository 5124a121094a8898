using System.Text.Json;
using Gantry.Migrations;
using Gantry.Store;

namespace Gantry.Cli;

/// <summary>
/// <c>gantry migrations validate [--json]</c>: every disagreement between the database's migration
/// records and this release's migrations. It only reads, so it works for any release, fenced or not.
/// </summary>
internal static class ValidateCommand
{
    public static async Task<int> RunAsync(CliContext context, IDatabase database, bool json, CancellationToken cancellationToken)
    {
        var findings = await MigrationDrift.AnalyzeAsync(database, context.Subsystems, cancellationToken);
        var drift = findings.Count(f => f.IsDrift);
        var output = context.Output;
        if (json)
        {
            output.Data(JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["valid"] = drift == 0,
                ["release"] = GantryInfo.Version,
                ["findings"] = findings.Select(ToJson).ToList(),
            }, new JsonSerializerOptions { WriteIndented = true }));
        }
        else
        {
            foreach (var finding in findings)
                output.Data((finding.IsDrift ? "drift: " : "note: ") + finding.Describe());
            if (drift == 0)
                output.Data("migrations are valid");
        }
        if (drift == 0)
            return ExitCodes.Success;
        output.Error($"{drift} migration{(drift == 1 ? "" : "s")} drifted from this release's definitions; restore the released definition "
            + "of each migration named (or run the release that recorded it) before starting nodes of this release");
        return ExitCodes.Drift;
    }

    private static Dictionary<string, object?> ToJson(DriftFinding finding) => new()
    {
        ["kind"] = finding.KindName,
        ["drift"] = finding.IsDrift,
        ["subsystem"] = finding.Subsystem,
        ["migration"] = finding.Migration,
        ["expected_checksum"] = finding.ExpectedChecksum,
        ["stored_checksum"] = finding.StoredChecksum,
        ["recorded_by"] = finding.RecordedBy,
        ["message"] = finding.Describe(),
    };
}
