using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using Gantry.Configuration;
using Gantry.Migrations;
using Gantry.Node;
using Gantry.Plugins;
using Gantry.Store;
using Gantry.Tests.Support;
using Microsoft.Extensions.Logging;

namespace Gantry.Tests.Node;

/// <summary>
/// The migration engine and a node driven in process, without the command line: what database-less
/// nodes and hybrid data planes will be started from.
/// </summary>
public sealed class EmbeddedNodeTests
{
    [Fact]
    public async Task A_node_runs_from_options_and_logs_through_the_given_logger_factory()
    {
        var prefix = Directory.CreateTempSubdirectory("gantry-embedded-").FullName;
        try
        {
            var admin = TestInstallation.FreePort();
            var loaded = ConfLoader.LoadText($"""
                prefix = {prefix}
                database = sqlite
                proxy_listen = 127.0.0.1:{TestInstallation.FreePort()}
                admin_listen = 127.0.0.1:{admin}
                status_listen = 127.0.0.1:{TestInstallation.FreePort()}
                """);
            var config = loaded.Config ?? throw new InvalidOperationException(string.Join("; ", loaded.Errors));
            var (enabled, errors) = new PluginCatalog([]).Resolve(config.LoadBundledPlugins ? ["bundled", .. config.Plugins] : config.Plugins);
            Assert.Empty(errors);
            var subsystems = MigrationCatalog.For(enabled, []);
            await using var database = new SqliteDatabase(config.SqlitePath, 5000);

            var reports = new RecordingReporter();
            await new MigrationRunner(database, subsystems, reports, new MigrationOptions(TimeSpan.FromSeconds(5), Force: false, "embedded test"))
                .BootstrapAsync();
            Assert.Contains("Bootstrapping database...", reports.Lines);
            Assert.Contains("Database is up-to-date", reports.Lines);

            var logs = new RecordingLoggerProvider();
            using var loggers = LoggerFactory.Create(logging => logging.AddProvider(logs).SetMinimumLevel(LogLevel.Information));
            var nodePrefix = new NodePrefix(config.Prefix);
            nodePrefix.Prepare();
            var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            using var stop = new CancellationTokenSource();
            var node = GantryNode.RunAsync(new GantryNodeOptions(config, nodePrefix, database, enabled, subsystems)
            {
                LoggerFactory = loggers,
                Started = () => started.TrySetResult(),
            }, stop.Token);
            await Task.WhenAny(started.Task, node).WaitAsync(TimeSpan.FromSeconds(60));
            Assert.True(started.Task.IsCompleted, node.Exception?.ToString() ?? "the node stopped before it started");

            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{admin}") };
            Assert.Equal(HttpStatusCode.Created, (await http.PostAsJsonAsync("/services", new { name = "embedded", url = "http://example.test" })).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/services/embedded")).StatusCode);
            Assert.Contains(logs.Messages, m => m.StartsWith($"gantry: Gantry {GantryInfo.Version} started (node ", StringComparison.Ordinal));
            Assert.True(File.Exists(nodePrefix.PidFile));

            stop.Cancel();
            await node.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.False(File.Exists(nodePrefix.PidFile));
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(prefix, recursive: true);
        }
    }

    private sealed class RecordingReporter : IMigrationReporter
    {
        public ConcurrentQueue<string> Lines { get; } = new();

        public void Progress(string message) => Lines.Enqueue(message);

        public void Problem(string message) => Lines.Enqueue("problem: " + message);

        public void Detail(string message)
        {
        }

        public void StepFinished(string migration, MigrationStepRun step, TimeSpan took, int attempts)
        {
        }

        public void StepBlocked(string migration, MigrationStepRun step, StepBlockage blockage) => Lines.Enqueue("blocked: " + migration);

        public void Backfill(BackfillProgress progress)
        {
        }
    }

    private sealed class RecordingLoggerProvider : ILoggerProvider
    {
        public ConcurrentQueue<string> Messages { get; } = new();

        public ILogger CreateLogger(string categoryName) => new Recorder(categoryName, Messages);

        public void Dispose()
        {
        }

        private sealed class Recorder(string category, ConcurrentQueue<string> messages) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                messages.Enqueue($"{category}: {formatter(state, exception)}");
        }
    }
}
