using System.Collections.Concurrent;
using Gantry.Clustering;
using Gantry.Clustering.Compatibility;
using Gantry.Clustering.Registry;
using Gantry.Configuration;
using Gantry.Store;
using Gantry.Tests.Support;
using Microsoft.Extensions.Logging;

namespace Gantry.Tests.Clustering;

/// <summary>
/// The parts of the link's compatibility that no end-to-end run can reach cheaply: the stripped hash followed
/// one entity at a time stays the hash of what is sent, and a registry that cannot be written neither stops
/// the reports nor floods the log.
/// </summary>
public sealed class LinkCompatibilityPartsTests
{
    [Fact]
    public void A_stripped_hash_followed_one_entity_at_a_time_is_the_hash_of_what_is_sent()
    {
        var stripper = new FieldStripper([
            FieldIntroduction.OfEntity("1.5.0", "services", "read_timeout"),
            FieldIntroduction.OfPlugin("1.5.0", "key-auth", "config.hide_credentials"),
        ]);
        var view = new StrippedConfiguration(ReleaseVersion.Parse("1.4.0"), stripper);
        var served = new Dictionary<(string, string), WireEntity>();
        var sent = new Dictionary<(string, string), WireEntity>();
        UInt128 servedSum = 0;

        void Put(string type, string id, string json)
        {
            var entity = WireEntity.Of(type, id, json);
            if (served.Remove((type, id), out var old))
                servedSum -= old.Term;
            served[(type, id)] = entity;
            servedSum += entity.Term;
            sent[(type, id)] = view.Put(entity);
        }

        void Remove(string type, string id)
        {
            if (served.Remove((type, id), out var old))
                servedSum -= old.Term;
            sent.Remove((type, id));
            view.Remove(type, id);
        }

        void AssertHashOfSent()
        {
            UInt128 expected = 0;
            foreach (var entity in sent.Values)
                expected += ConfigHash.Term(entity.Type, entity.Json);
            Assert.Equal(ConfigHash.Format(expected), view.HashOf(servedSum));
            foreach (var entity in served.Values)
                Assert.Same(sent[(entity.Type, entity.Id)], view.SentForm(entity));
        }

        Put("services", "s1", """{"id":"s1","name":"one","read_timeout":5000}""");
        Assert.DoesNotContain("read_timeout", sent[("services", "s1")].Json);
        Put("services", "s2", """{"id":"s2","name":"two"}""");
        Assert.Same(served[("services", "s2")], sent[("services", "s2")]);
        Put("routes", "r1", """{"id":"r1","paths":["/a"],"read_timeout":1}""");
        Assert.Same(served[("routes", "r1")], sent[("routes", "r1")]);
        Put("plugins", "p1", """{"config":{"hide_credentials":true,"key_names":["apikey"]},"id":"p1","name":"key-auth"}""");
        Put("plugins", "p2", """{"config":{"hide_credentials":true},"id":"p2","name":"basic-auth"}""");
        AssertHashOfSent();
        Assert.Equal(2, view.Count);
        Assert.Equal(2, view.Fields.Count);

        Put("services", "s1", """{"id":"s1","name":"one","read_timeout":7000}""");
        Put("services", "s2", """{"id":"s2","name":"two","read_timeout":9000}""");
        AssertHashOfSent();
        Put("plugins", "p1", """{"config":{"key_names":["apikey"]},"id":"p1","name":"key-auth"}""");
        Assert.Same(served[("plugins", "p1")], sent[("plugins", "p1")]);
        AssertHashOfSent();
        Assert.Equal(["services.read_timeout (1.5.0)"], view.Fields.Select(f => f.ToString()));
        Remove("services", "s1");
        Remove("services", "s2");
        AssertHashOfSent();
        Assert.Empty(view.Fields);
        // Nothing stripped any more: the data planes of that release are sent the served hash.
        Assert.Equal(ConfigHash.Format(servedSum), view.HashOf(servedSum));
    }

    [Fact]
    public async Task A_registry_that_cannot_be_written_is_logged_once_and_the_reports_go_on_once_it_can()
    {
        await using var installation = await TestInstallation.CreateAsync("sqlite");
        var config = ConfLoader.Load(null, installation.Environment).Config!;
        // Not bootstrapped yet: every write fails as with a database that is down.
        await using IDatabase database = new SqliteDatabase(config.SqlitePath, 5000);
        var registry = new DataPlaneRegistry(database, TimeSpan.FromHours(1));
        var logger = new RecordingLogger();
        var reporter = new DataPlaneReporter(registry, logger);
        var ids = new[] { Guid.NewGuid(), Guid.NewGuid() };
        var queues = ids.Select(_ => reporter.For()).ToArray();
        for (var i = 0; i < 5; i++)
        {
            for (var d = 0; d < ids.Length; d++)
                queues[d].Report(Report(ids[d], i));
            foreach (var queue in queues)
                await queue.FlushAsync(TimeSpan.FromSeconds(10));
        }
        Assert.Single(logger.Messages, m => m.Contains("cannot record data plane"));

        var bootstrap = await installation.RunAsync("migrations", "bootstrap");
        Assert.True(bootstrap.ExitCode == 0, bootstrap.ToString());
        for (var d = 0; d < ids.Length; d++)
            queues[d].Report(Report(ids[d], 9));
        foreach (var queue in queues)
            await queue.FlushAsync(TimeSpan.FromSeconds(10));
        Assert.Single(logger.Messages, m => m.Contains("recorded in clustering_data_planes again"));
        var rows = await registry.ListAsync(default);
        Assert.Equal(ids.Order(), rows.Select(r => r.Id).Order());
        Assert.All(rows, r => Assert.Equal(Hash(9), r.ConfigHash));
    }

    private static string Hash(int i) => i.ToString("x32");

    private static DataPlaneReport Report(Guid id, int i) =>
        new(id, "dp", "127.0.0.1", "1.4.0", SyncStatus.Normal, Hash(i));

    private sealed class RecordingLogger : ILogger
    {
        public ConcurrentQueue<string> Messages { get; } = new();

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Messages.Enqueue(formatter(state, exception));
    }
}
