using Gantry.Configuration;
using Gantry.Migrations;

namespace Gantry.Tests.Migrations;

public sealed class MigrationDriftTests
{
    private static readonly ReleaseVersion Current = new(0, 2, 0);

    private static Migration M(string name, string sql = "SELECT 1") => new(name, new MigrationStep(new SqlOperation(sql, sql)));

    private static MigrationRecord R(string name, Migration? definition = null, string? version = "0.2.0", string subsystem = "s") =>
        new(subsystem, name, MigrationRecordState.Executed,
            definition is null ? null : MigrationChecksum.Compute(definition, DatabaseKind.Postgres), version, null, null);

    private static IReadOnlyList<DriftFinding> Analyze(Subsystem subsystem, params MigrationRecord[] records) =>
        MigrationDrift.Analyze([subsystem], new StoredState(true, true, records), DatabaseKind.Postgres, Current);

    [Fact]
    public void Matching_records_have_no_findings()
    {
        var a = M("001_a");
        var b = M("002_b");
        Assert.Empty(Analyze(new Subsystem("s", false, [a, b]), R("001_a", a), R("002_b", b)));
    }

    [Fact]
    public void Edited_definition_is_a_checksum_mismatch_but_reformatting_is_not()
    {
        var released = M("001_a", "CREATE TABLE t (x int)");
        var reformatted = M("001_a", "CREATE   TABLE t\n  (x int);");
        var edited = M("001_a", "CREATE TABLE t (x bigint)");
        Assert.Empty(Analyze(new Subsystem("s", false, [reformatted]), R("001_a", released)));
        var finding = Assert.Single(Analyze(new Subsystem("s", false, [edited]), R("001_a", released, "0.1.0")));
        Assert.Equal(DriftKind.ChecksumMismatch, finding.Kind);
        Assert.True(finding.IsDrift);
        Assert.Equal(MigrationChecksum.Compute(edited, DatabaseKind.Postgres), finding.ExpectedChecksum);
        Assert.Equal(MigrationChecksum.Compute(released, DatabaseKind.Postgres), finding.StoredChecksum);
        Assert.Equal("0.1.0", finding.RecordedBy);
    }

    [Fact]
    public void Records_without_a_comparable_checksum_are_not_judged()
    {
        var a = M("001_a");
        Assert.Empty(Analyze(new Subsystem("s", false, [a]), R("001_a") with { Checksum = null }));
        Assert.Empty(Analyze(new Subsystem("s", false, [a]), R("001_a") with { Checksum = "v2:abcdef" }));
    }

    [Fact]
    public void Only_a_missing_migration_ordered_before_a_recorded_one_is_a_gap()
    {
        var subsystem = new Subsystem("s", false, [M("001_a"), M("002_b"), M("003_c"), M("004_d")]);
        var findings = Analyze(subsystem, R("001_a"), R("003_c"));
        var gap = Assert.Single(findings);
        Assert.Equal((DriftKind.Gap, "002_b"), (gap.Kind, gap.Migration));
    }

    [Theory]
    [InlineData("0.3.0", DriftKind.FromNewerRelease)]
    [InlineData("0.10.0", DriftKind.FromNewerRelease)]
    [InlineData("0.2.0", DriftKind.Removed)]
    [InlineData("0.1.9", DriftKind.Removed)]
    [InlineData(null, DriftKind.Removed)]
    public void Unknown_records_are_drift_unless_a_newer_release_wrote_them(string? recordedBy, DriftKind expected)
    {
        var finding = Assert.Single(Analyze(new Subsystem("s", false, [M("001_a")]), R("001_a"), R("002_gone", version: recordedBy)));
        Assert.Equal(expected, finding.Kind);
        Assert.Equal(expected != DriftKind.FromNewerRelease, finding.IsDrift);
        Assert.Equal(expected == DriftKind.FromNewerRelease, MigrationDrift.Refusal([finding]) is null);
    }

    [Fact]
    public void Records_of_subsystems_not_loaded_are_ignored()
    {
        Assert.Empty(Analyze(new Subsystem("s", false, [M("001_a")]), R("001_a"), R("000_base_p", version: "0.1.0", subsystem: "disabled-plugin")));
    }

    [Theory]
    [InlineData("0.2.0", "0.10.0", -1)]
    [InlineData("1.0.0", "0.99.99", 1)]
    [InlineData("0.2.0-dev", "0.2.0", 0)]
    [InlineData("0.2.1", "0.2.0+abc", 1)]
    public void Release_numbers_compare_numerically(string left, string right, int sign)
    {
        Assert.Equal(sign, Math.Sign(ReleaseVersion.Parse(left).CompareTo(ReleaseVersion.Parse(right))));
    }

    [Theory]
    [InlineData("")]
    [InlineData("1.2")]
    [InlineData("1.2.x")]
    [InlineData("1.-2.3")]
    [InlineData("v1.2.3")]
    public void Malformed_release_numbers_are_rejected(string text)
    {
        Assert.False(ReleaseVersion.TryParse(text, out _));
    }
}
