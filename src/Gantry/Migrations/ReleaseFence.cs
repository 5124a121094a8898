using System.Data.Common;
using System.Text.Json;
using System.Text.Json.Serialization;
using Gantry.Store;

namespace Gantry.Migrations;

/// <summary>
/// The oldest release that may still run against a database, and which contract step made it so.
/// <see cref="SetBy"/> is the migration lock owner of the command that ran the step.
/// </summary>
public sealed record ReleaseFloor(
    [property: JsonPropertyName("release")] string Release,
    [property: JsonPropertyName("migration")] string Migration,
    [property: JsonPropertyName("set_by")] string SetBy,
    [property: JsonPropertyName("at")] DateTimeOffset At)
{
    /// <summary>The command part of <see cref="SetBy"/> ("gantry migrations finish"), without pid and host.</summary>
    public string Command
    {
        get
        {
            var details = SetBy.IndexOf(" (", StringComparison.Ordinal);
            return details > 0 ? SetBy[..details] : SetBy;
        }
    }
}

/// <summary>
/// Fences old releases out of a contracted database. Up steps only expand, so the previous release
/// keeps working beside the new one; a Finish step contracts what the previous release reads, so once
/// one has run, the release that ran it becomes the floor (in <c>gantry_meta</c>, written in the step's
/// own transaction), and nodes and schema-changing commands of older releases refuse to run.
/// </summary>
public static class ReleaseFence
{
    public const string FloorKey = "release_floor";

    /// <summary>Called inside the transaction of a Finish step, just before it commits.</summary>
    public static async Task RecordContractAsync(MigrationStateStore state, DbConnection connection, DbTransaction transaction,
        string migration, string owner, CancellationToken cancellationToken)
    {
        var current = TryParse(await MigrationStateStore.ReadMetaAsync(connection, transaction, FloorKey, cancellationToken));
        // The floor only rises: a rerun of an old contract step (finish -f) must not let older nodes back in.
        if (current is not null && ReleaseVersion.TryParse(current.Release, out var existing) && existing > GantryInfo.Release)
            return;
        var floor = new ReleaseFloor(GantryInfo.Version, migration, owner, DateTimeOffset.UtcNow);
        await state.SetMetaAsync(connection, transaction, FloorKey, JsonSerializer.Serialize(floor), cancellationToken);
    }

    public static async Task<ReleaseFloor?> ReadFloorAsync(IDatabase database, CancellationToken cancellationToken)
    {
        if (!await database.ExistsAsync(cancellationToken))
            return null;
        if (!(await database.ListTablesAsync(cancellationToken)).Contains(MigrationStateStore.MetaTable))
            return null;
        await using var connection = await database.OpenAsync(cancellationToken);
        var value = await MigrationStateStore.ReadMetaAsync(connection, null, FloorKey, cancellationToken);
        if (string.IsNullOrEmpty(value))
            return null;
        // Failing closed: a floor this release cannot read was written by a release it does not know.
        return TryParse(value) is { } floor && ReleaseVersion.TryParse(floor.Release, out _)
            ? floor
            : throw new MigrationException(MigrationFailure.Fenced, $"this database's release floor ({MigrationStateStore.MetaTable}.{FloorKey} = '{value}') cannot be read by Gantry {GantryInfo.Version}; "
                + "it was written by a release this one does not know: run a newer release");
    }

    /// <summary>
    /// Refuses when this release is older than the database's floor. <paramref name="fix"/> says
    /// what to run instead, such as "upgrade this node to {0} or newer".
    /// </summary>
    public static async Task EnsureAllowedAsync(IDatabase database, string fix, CancellationToken cancellationToken)
    {
        var floor = await ReadFloorAsync(database, cancellationToken);
        if (floor is null || GantryInfo.Release >= ReleaseVersion.Parse(floor.Release))
            return;
        throw new MigrationException(MigrationFailure.Fenced,
            $"this database was contracted by Gantry {floor.Release} ('{floor.Command}' ran {floor.Migration}); "
            + $"Gantry {GantryInfo.Version} can no longer run against it: {string.Format(System.Globalization.CultureInfo.InvariantCulture, fix, floor.Release)}");
    }

    private static ReleaseFloor? TryParse(string? value)
    {
        if (string.IsNullOrEmpty(value))
            return null;
        try
        {
            return JsonSerializer.Deserialize<ReleaseFloor>(value);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
