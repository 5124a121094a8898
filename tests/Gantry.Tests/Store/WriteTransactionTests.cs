using System.Text.Json.Nodes;
using Gantry.Configuration;
using Gantry.Entities.Definitions;
using Gantry.Store;
using Gantry.Tests.Support;

namespace Gantry.Tests.Store;

/// <summary>The write path of the store in process, on a bootstrapped database of each kind.</summary>
public abstract class WriteTransactionTests(string store) : IAsyncLifetime
{
    private TestInstallation _installation = null!;
    private IDatabase _database = null!;
    private EntityDao _dao = null!;

    public async Task InitializeAsync()
    {
        _installation = await TestInstallation.CreateAsync(store);
        var bootstrap = await _installation.RunAsync("migrations", "bootstrap");
        Assert.True(bootstrap.ExitCode == 0, bootstrap.ToString());
        _database = _installation.OpenDatabase();
        _dao = new EntityDao(_database, CoreEntities.Registry([]), Guid.NewGuid());
    }

    public async Task DisposeAsync()
    {
        await _database.DisposeAsync();
        await _installation.DisposeAsync();
    }

    private static JsonObject Service(string name) => Entity(new JsonObject
    {
        ["name"] = name, ["protocol"] = "http", ["host"] = name + ".test", ["port"] = 80, ["retries"] = 5, ["connect_timeout"] = 60000,
        ["write_timeout"] = 60000, ["read_timeout"] = 60000, ["enabled"] = true, ["tags"] = new JsonArray("tx"),
    });

    private static JsonObject Route(string name, string serviceId) => Entity(new JsonObject
    {
        ["name"] = name, ["paths"] = new JsonArray("/" + name), ["service"] = new JsonObject { ["id"] = serviceId }, ["tags"] = new JsonArray("tx"),
    });

    private static JsonObject Entity(JsonObject fields)
    {
        fields["id"] = Guid.NewGuid().ToString();
        fields["created_at"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        fields["updated_at"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        return fields;
    }

    [Fact]
    public async Task Writes_in_one_transaction_commit_together_or_not_at_all()
    {
        var services = _dao.Registry.Get("services");
        var routes = _dao.Registry.Get("routes");
        var refused = await Assert.ThrowsAsync<EntityException>(() => _dao.WriteTransactionAsync(async write =>
        {
            await write.InsertAsync(services, Service("kept-out"), default);
            Assert.NotNull(await write.GetAsync(services, "kept-out", default));
            return await write.InsertAsync(routes, Route("dangling", Guid.NewGuid().ToString()), default);
        }, default));
        Assert.Equal(4, refused.Code);
        Assert.NotNull(refused.Fields?["service"]);
        Assert.Null(await _dao.GetAsync(services, "kept-out", default));
        Assert.Equal(0, await _installation.CountAsync("SELECT count(*) FROM tags"));
        Assert.Equal(0, await _installation.CountAsync("SELECT count(*) FROM cluster_events WHERE channel = 'invalidations'"));

        var service = Service("together");
        await _dao.WriteTransactionAsync(async write =>
        {
            await write.InsertAsync(services, service, default);
            return await write.InsertAsync(routes, Route("inside", service["id"]!.GetValue<string>()), default);
        }, default);
        Assert.NotNull(await _dao.GetAsync(routes, "inside", default));
        Assert.Equal(2, await _installation.CountAsync("SELECT count(*) FROM tags WHERE tag = 'tx'"));
        Assert.Equal(2, await _installation.CountAsync("SELECT count(*) FROM cluster_events WHERE channel = 'invalidations'"));
    }

    [Fact]
    public async Task A_child_created_while_its_parent_is_deleted_waits_and_is_refused_as_a_foreign_key_violation()
    {
        var services = _dao.Registry.Get("services");
        var service = await _dao.InsertAsync(services, Service("doomed"), default);
        var id = service["id"]!.GetValue<string>();

        // Another writer holds the parent's delete open: the child's write waits for it, then finds no parent.
        await using var other = await _installation.OpenAsync();
        await using var transaction = await other.BeginTransactionAsync();
        await other.ExecuteAsync(transaction, $"DELETE FROM tags WHERE entity_id = {(_installation.IsPostgres ? "@id::uuid" : "@id")}", default, ("id", _database.Dialect.Uuid(id)));
        await other.ExecuteAsync(transaction, $"DELETE FROM services WHERE id = {(_installation.IsPostgres ? "@id::uuid" : "@id")}", default, ("id", _database.Dialect.Uuid(id)));
        var child = _dao.InsertAsync(_dao.Registry.Get("routes"), Route("orphan", id), default);
        await Task.Delay(300);
        Assert.False(child.IsCompleted);
        await transaction.CommitAsync();

        var refused = await Assert.ThrowsAsync<EntityException>(() => child);
        Assert.Equal((400, 4, "foreign key violation"), (refused.Status, refused.Code, refused.Name));
        Assert.Equal($"the foreign key '{{id=\"{id}\"}}' does not reference an existing 'services' entity.", refused.Message);
        Assert.Equal(id, refused.Fields!["service"]!["id"]!.GetValue<string>());
        Assert.Equal(0, await _installation.CountAsync("SELECT count(*) FROM routes"));
    }

    [Fact]
    public async Task A_database_that_cannot_be_reached_is_named_in_the_error()
    {
        var config = ConfLoader.Load(null, new Dictionary<string, string>(_installation.Environment)
        {
            ["GANTRY_PG_HOST"] = "127.0.0.1",
            ["GANTRY_PG_PORT"] = TestInstallation.FreePort().ToString(),
            ["GANTRY_PG_DATABASE"] = "nowhere",
            ["GANTRY_SQLITE_PATH"] = "/proc/gantry/nowhere.db",
        }).Config!;
        await using IDatabase database = _installation.IsPostgres
            ? new PostgresDatabase(config.Postgres, "gantry tests")
            : new SqliteDatabase(config.SqlitePath, 100);
        var dao = new EntityDao(database, CoreEntities.Registry([]), Guid.NewGuid());
        var services = dao.Registry.Get("services");
        foreach (var attempt in new Func<Task>[]
                 {
                     () => dao.GetAsync(services, "any", default),
                     () => dao.InsertAsync(services, Service("any"), default),
                     () => dao.Tags.ListAsync(null, null, 10, default),
                 })
        {
            var error = await Assert.ThrowsAsync<DatabaseUnavailableException>(attempt);
            var where = _installation.IsPostgres
                ? $"PostgreSQL at 127.0.0.1:{config.Postgres.Port}, database 'nowhere'"
                : $"SQLite file {config.SqlitePath}";
            Assert.StartsWith($"the database ({where}) cannot be reached: ", error.Message);
        }
    }
}

public sealed class SqliteWriteTransactionTests() : WriteTransactionTests("sqlite");

public sealed class PostgresWriteTransactionTests() : WriteTransactionTests("postgres");

/// <summary>Conflicts on a SQLite file another connection holds: waited out, then reported as busy.</summary>
public sealed class SqliteBusyTests
{
    [Fact]
    public async Task A_write_waits_out_a_short_lock_and_reports_a_lasting_one_as_busy()
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("gantry-busy-").FullName, "busy.db");
        await using var database = new SqliteDatabase(path, 50);
        var runner = new TransactionRunner(database);
        await runner.WriteAsync((c, t) => c.ExecuteAsync(t, "CREATE TABLE t (v INTEGER)", default), default);

        await using (var holder = await database.OpenAsync())
        {
            await using var hold = await holder.BeginTransactionAsync();
            await holder.ExecuteAsync(hold, "INSERT INTO t VALUES (0)", default);
            var write = runner.WriteAsync((c, t) => c.ExecuteAsync(t, "INSERT INTO t VALUES (1)", default), default);
            await Task.Delay(150);
            await hold.CommitAsync();
            Assert.Equal(1, await write);
        }

        await using var blocker = await database.OpenAsync();
        await using var block = await blocker.BeginTransactionAsync();
        await blocker.ExecuteAsync(block, "INSERT INTO t VALUES (2)", default);
        var busy = await Assert.ThrowsAsync<DatabaseUnavailableException>(() => runner.WriteAsync((c, t) => c.ExecuteAsync(t, "INSERT INTO t VALUES (3)", default), default));
        Assert.Contains("is busy", busy.Message);
    }
}
