using Gantry.Migrations;

namespace Gantry.Tests.Migrations;

public sealed class MigrationStatusTests
{
    private static readonly Subsystem Core = new("core", false, [M("000_base"), M("001_x", finish: true), M("002_y")]);
    private static readonly Subsystem Plugin = new("p", true, [M("000_base_p")]);

    private static Migration M(string name, bool finish = false) =>
        new(name, new MigrationStep(new SqlOperation("SELECT 1", "SELECT 1")), finish ? new MigrationStep(new SqlOperation("SELECT 2", "SELECT 2")) : null);

    private static MigrationRecord R(string subsystem, string name, MigrationRecordState state) => new(subsystem, name, state, null, null, null, null);

    [Fact]
    public void Empty_database_needs_bootstrap_and_everything_is_new()
    {
        var status = MigrationStatus.Classify([Core, Plugin], StoredState.Empty);
        Assert.True(status.NeedsBootstrap);
        Assert.False(status.IncompleteBootstrap);
        Assert.Equal(["core", "p"], status.New.Select(g => g.Subsystem));
        Assert.Equal(["000_base", "001_x", "002_y"], status.New[0].Migrations);
    }

    [Fact]
    public void Records_classify_each_migration_and_unknown_names_are_reported()
    {
        var stored = new StoredState(true, true, [
            R("core", "000_base", MigrationRecordState.Executed),
            R("core", "001_x", MigrationRecordState.Pending),
            R("core", "009_from_the_future", MigrationRecordState.Pending),
            R("other", "000_base_other", MigrationRecordState.Executed),
        ]);
        var status = MigrationStatus.Classify([Core, Plugin], stored);
        Assert.Equal(["000_base"], status.Executed.Single().Migrations);
        Assert.Equal(["001_x"], status.Pending.Single().Migrations);
        Assert.Equal([("core", "002_y"), ("p", "000_base_p")], status.New.SelectMany(g => g.Migrations.Select(m => (g.Subsystem, m))));
        // A newer release's migration is unknown; a subsystem this node does not load is ignored.
        Assert.Equal(["009_from_the_future"], status.Unknown.Single().Migrations);
        Assert.True(status.HasPending);
        Assert.False(status.IsUpToDate);
    }

    [Fact]
    public void Tables_without_the_bootstrap_mark_are_an_incomplete_bootstrap()
    {
        var status = MigrationStatus.Classify([Core], new StoredState(true, false, [R("core", "000_base", MigrationRecordState.Executed)]));
        Assert.True(status.NeedsBootstrap);
        Assert.True(status.IncompleteBootstrap);
    }

    [Fact]
    public void Migration_names_must_be_ordered_and_well_formed()
    {
        Assert.Throws<ArgumentException>(() => new Subsystem("s", false, [M("002_b"), M("001_a")]));
        Assert.Throws<ArgumentException>(() => M("base"));
        Assert.Throws<ArgumentException>(() => M("01_short"));
    }

    [Fact]
    public void Checksum_ignores_whitespace_but_not_meaning()
    {
        var a = new Migration("001_a", new MigrationStep(new SqlOperation("CREATE TABLE t (x int)", "CREATE TABLE t (x int)")));
        var spaced = new Migration("001_a", new MigrationStep(new SqlOperation("CREATE   TABLE t\n (x int);", "CREATE TABLE t (x int)")));
        var changed = new Migration("001_a", new MigrationStep(new SqlOperation("CREATE TABLE t (x bigint)", "CREATE TABLE t (x int)")));
        var kind = Gantry.Configuration.DatabaseKind.Postgres;
        Assert.Equal(MigrationChecksum.Compute(a, kind), MigrationChecksum.Compute(spaced, kind));
        Assert.NotEqual(MigrationChecksum.Compute(a, kind), MigrationChecksum.Compute(changed, kind));
        Assert.StartsWith("v1:", MigrationChecksum.Compute(a, kind));
    }
}
