namespace Gantry.Tests.Support;

/// <summary>
/// Test-only subsystems in the JSON form the test host reads (tests/Gantry.TestHost/ReleaseFile.cs). Each
/// release string plays one release of Gantry: the same program, knowing different migrations.
/// </summary>
public static class Releases
{
    private const string ItemsMigrations = """
        {"name": "001_items", "up": [{"sql": "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL)"}]},
        {"name": "002_items_name_index", "up": [{"sql": "CREATE INDEX items_name_idx ON items (name)"}]}
        """;

    public const string AVersion = "0.1.0";
    public const string BVersion = "0.2.0";

    /// <summary>Release A (0.1.0) knows migrations 1 and 2 of the "blue" subsystem.</summary>
    public static string A => Claiming(AVersion, Of($$"""{"name": "blue", "migrations": [{{ItemsMigrations}}]}"""));

    /// <summary>
    /// Release B (0.2.0) adds migration 3: Up adds the label column (old code ignores it); Finish copies name into
    /// label and drops name, which release A's code could no longer read. Migration 4 indexes label
    /// concurrently (Up only, so it is executed at once).
    /// </summary>
    public static string B => Claiming(BVersion, Of(BlueB));

    /// <summary>Release B plus a second subsystem with a new migration.</summary>
    public static string BWithGreen => Claiming(BVersion, Of(BlueB, """
        {"name": "green", "migrations": [{"name": "001_g", "up": [{"sql": "CREATE TABLE g (x INTEGER)"}]}]}
        """));

    private const string BlueB = $$$"""
        {"name": "blue", "migrations": [{{{ItemsMigrations}}},
          {"name": "003_label",
           "up": [{"add_column": {"table": "items", "name": "label", "type": "text"}}],
           "finish": [{"sql": "UPDATE items SET label = name WHERE label IS NULL"},
                      {"drop_index": {"name": "items_name_idx"}},
                      {"drop_column": {"table": "items", "name": "name"}}]},
          {"name": "004_label_index",
           "up": [{"create_index_concurrently": {"table": "items", "name": "items_label_idx", "columns": ["label"]}}]}]}
        """;

    /// <summary>Release A plus a unique index built concurrently, which fails while names repeat.</summary>
    public static string UniqueNames => Claiming(BVersion, Of($$$"""
        {"name": "blue", "migrations": [{{{ItemsMigrations}}},
          {"name": "003_unique_name", "up": [{"create_index_concurrently": {"table": "items", "name": "items_name_key", "unique": true, "columns": ["name"]}}]}]}
        """));

    /// <summary>Release A plus a migration whose raw SQL declares no undo.</summary>
    public static string Irreversible => Claiming(BVersion, Of($$$"""
        {"name": "blue", "migrations": [{{{ItemsMigrations}}},
          {"name": "003_seed",
           "up": [{"add_column": {"table": "items", "name": "label", "type": "text"}},
                  {"sql": "UPDATE items SET label = 'default'", "lock": "row_exclusive", "reason": "seed the defaults", "table": "items"}],
           "finish": [{"sql": "SELECT 1"}]}]}
        """));

    /// <summary>Three migrations writing to a ledger; the second holds its transaction open for a while.</summary>
    public static string Slow(int delayMilliseconds) => Of($$"""
        {"name": "slow", "migrations": [
          {"name": "001_fast", "up": [{"sql": "CREATE TABLE ledger (migration TEXT NOT NULL)"}, {"sql": "INSERT INTO ledger VALUES ('001')"}]},
          {"name": "002_slow", "up": [{"sql": "INSERT INTO ledger VALUES ('002')"}, {"delay_ms": {{delayMilliseconds}}}, {"sql": "CREATE TABLE slow_done (x INTEGER)"}]},
          {"name": "003_after", "up": [{"sql": "INSERT INTO ledger VALUES ('003')"}]}]}
        """);

    /// <summary>
    /// One migration whose Finish has three steps: an insert, a backfill (journalled outside a transaction on
    /// both databases, so it is a step of its own), and an insert whose transaction stays open for a while.
    /// </summary>
    public static string SlowFinish(int delayMilliseconds) => Of($$$"""
        {"name": "tally", "migrations": [
          {"name": "001_tally",
           "up": [{"sql": "CREATE TABLE tally (id INTEGER PRIMARY KEY, note TEXT)"}],
           "finish": [{"sql": "INSERT INTO tally VALUES (1, 'first')"},
                      {"backfill": {"table": "tally", "key": "id", "set": "note = upper(note)"}},
                      {"sql": "INSERT INTO tally VALUES (3, 'third')"}, {"delay_ms": {{{delayMilliseconds}}}}]}]}
        """);

    /// <summary>A plugin that owns a table; it only migrates when the plugins property names it.</summary>
    public static string AuditPlugin => Of("""
        {"name": "x-audit", "plugin": true, "migrations": [
          {"name": "000_base_x_audit", "up": [{"sql": "CREATE TABLE x_audit_entries (id INTEGER PRIMARY KEY, message TEXT)"}]}]}
        """);

    /// <summary>A subsystem whose second migration fails half-way through its Up step (or not, once fixed).</summary>
    public static string Broken(bool fixedUp) => Of($$"""
        {"name": "broken", "migrations": [
          {"name": "001_ok", "up": [{"sql": "CREATE TABLE ok_t (x INTEGER)"}]},
          {"name": "002_bad", "up": [{"sql": "CREATE TABLE bad_t (x INTEGER)"}, {"sql": "INSERT INTO {{(fixedUp ? "bad_t" : "does_not_exist")}} VALUES (1)"}]}]}
        """);

    /// <summary>The same subsystems, played by the given release (the release file's "release").</summary>
    public static string Claiming(string release, string releaseJson)
    {
        var document = System.Text.Json.Nodes.JsonNode.Parse(releaseJson)!.AsObject();
        document["release"] = release;
        return document.ToJsonString();
    }

    public static string Of(params string[] subsystems) => $$"""{"subsystems": [{{string.Join(",\n", subsystems)}}]}""";
}
