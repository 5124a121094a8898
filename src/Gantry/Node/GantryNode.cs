using System.Text.Json;
using Gantry.Admin;
using Gantry.Balancing;
using Gantry.Clustering;
using Gantry.Clustering.Compatibility;
using Gantry.Clustering.Registry;
using Gantry.Proxy;
using Gantry.Entities.Definitions;
using Gantry.Configuration;
using Gantry.DbLess;
using Gantry.Plugins;
using Gantry.Store;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;

namespace Gantry.Node;

/// <summary>
/// A running node: one Kestrel host with the proxy, Admin API and Status API listeners. Requests are
/// dispatched by the local port they arrived on, so each role keeps its own pipeline.
/// </summary>
internal sealed class GantryNode
{
    /// <param name="context">What the node runs with (whoever starts it: the CLI's 'start', or an embedding program).</param>
    public static Task RunAsync(GantryNodeOptions context, CancellationToken cancellationToken)
    {
        // The node's own work (starting, building configurations, stopping) runs on the thread pool and resumes
        // there after every await, never on a socket thread (proxy_inline_io), even when the caller itself runs
        // on one (after a database read of 'gantry start').
        return InlineIo.RunOffSocketThreads(() => RunNodeAsync(context, cancellationToken));
    }

    private static async Task RunNodeAsync(GantryNodeOptions context, CancellationToken cancellationToken)
    {
        var config = context.Config;
        InlineIo.Apply(config);
        var (prefix, database) = (context.Prefix, context.Database);
        var nodeId = prefix.NodeId();
        var role = config.Role;
        if (role == NodeRole.DataPlane && database is not null)
            throw new NodeStartException("role = data_plane needs database = off: a data plane gets its configuration from its control plane");
        if (role == NodeRole.ControlPlane && database is null)
            throw new NodeStartException("role = control_plane needs a database (database = postgres, or sqlite for one node)");
        // Loaded before anything listens: a hybrid node without its certificates must not start.
        var clusterTls = role == NodeRole.Traditional ? null : ClusterTls.Load(config);
        ILogger? clusterLogger = null;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        if (context.LoggerFactory is { } loggerFactory)
        {
            // Registered last, so it is the factory every logger of the host resolves.
            builder.Services.AddSingleton(loggerFactory);
        }
        else
        {
            builder.Logging.AddSimpleConsole(options => options.SingleLine = true);
            builder.Logging.SetMinimumLevel(config.MinimumLogLevel);
            builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
            // YARP logs every forwarded request at Information: at Kong's default log_level (notice) that
            // alone cost a third of the proxy's throughput. Its warnings and errors still come through.
            builder.Logging.AddFilter("Yarp", LogLevel.Warning);
            // ASP.NET Core's hosting starts an Activity and a logging scope for every request as soon as its
            // diagnostics logger is on at any level, though it logs only each request's start and end
            // (Information), which Gantry never shows. Off: 0.6 KB less allocated and about 2 µs less CPU per
            // proxied request (bench/README.md).
            builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None);
        }
        // The fast stop's grace (SIGINT, 'gantry stop'); a drain has its own, nginx_main_worker_shutdown_timeout.
        builder.Services.Configure<HostOptions>(options => options.ShutdownTimeout = TimeSpan.FromSeconds(10));
        builder.Services.AddSingleton<IHostLifetime, NodeSignals.Lifetime>();
        builder.Services.AddHttpForwarder();
        var counters = new NodeCounters();
        var statusPorts = config.StatusListen.Select(a => a.Port).ToHashSet();
        NodeDrain? drain = null;
        // Registered last, so that Kestrel binds through it rather than through the plain socket transport.
        // With proxy_inline_io, the proxy listeners run requests on the socket threads; the Admin, Status and cluster
        // listeners never do, so that their database work (SQLite is synchronous) runs on the thread pool.
        var inlinePorts = InlineIo.Enabled(config) ? config.ProxyListen.Select(a => a.Port).ToHashSet() : [];
        builder.Services.AddSingleton<ClosableListenerFactory>(services =>
        {
            var options = services.GetRequiredService<Microsoft.Extensions.Options.IOptions<SocketTransportOptions>>();
            var loggers = services.GetRequiredService<ILoggerFactory>();
            var inline = new SocketTransportOptions { UnsafePreferInlineScheduling = true };
            Microsoft.AspNetCore.Connections.IConnectionListenerFactory? proxyTransport = inlinePorts.Count == 0 ? null
                : InlineIo.EpollLoops(config) ? new Epoll.EpollTransportFactory()
                : new SocketTransportFactory(Microsoft.Extensions.Options.Options.Create(inline), loggers);
            return new ClosableListenerFactory(new SocketTransportFactory(options, loggers), proxyTransport, inlinePorts);
        });
        builder.Services.AddSingleton<Microsoft.AspNetCore.Connections.IConnectionListenerFactory>(services => services.GetRequiredService<ClosableListenerFactory>());
        // Set once the snapshot holder exists, which is before any listener accepts a connection.
        SnapshotHolder? proxySnapshots = null;
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            // The headers property decides whether a Server header is sent, and with which value.
            kestrel.AddServerHeader = false;
            // Before the listeners are bound, so that every one of them counts its connections.
            kestrel.ConfigureEndpointDefaults(listen => listen.Use(next => async connection =>
            {
                // An IPv4 client of a dual-stack listener ([::]) is an IPv4 address everywhere a client address
                // counts (X-Forwarded-For, ip-restriction, rate-limiting by IP, logs), not ::ffff:a.b.c.d.
                connection.RemoteEndPoint = ListenerSetup.Unmapped(connection.RemoteEndPoint);
                connection.LocalEndPoint = ListenerSetup.Unmapped(connection.LocalEndPoint);
                counters.ConnectionOpened();
                try
                {
                    await drain!.TrackAsync(connection, next);
                }
                finally
                {
                    counters.ConnectionClosed();
                }
            }));
            // A control plane proxies nothing: its data planes do.
            if (role != NodeRole.ControlPlane)
            {
                ListenerSetup.Bind(kestrel, config.ProxyListen, () => ListenerSetup.LoadOrCreate(config, "ssl_cert", prefix, "proxy"),
                    serverName => proxySnapshots?.Current.Certificates.Select(serverName));
            }
            if (role == NodeRole.ControlPlane)
                ClusterListener.Bind(kestrel, config.ClusterListen, clusterTls!, () => clusterLogger!);
            ListenerSetup.Bind(kestrel, config.AdminListen, () => ListenerSetup.LoadOrCreate(config, "admin_ssl_cert", prefix, "admin"));
            ListenerSetup.Bind(kestrel, config.StatusListen, () => ListenerSetup.LoadOrCreate(config, "status_ssl_cert", prefix, "status"));
        });

        var app = builder.Build();
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("gantry");
        clusterLogger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("gantry.clustering");
        Epoll.EpollLoop.Unhandled ??= e => logger.LogError(e, "work on an epoll loop failed");
        var clusterPorts = role == NodeRole.ControlPlane ? config.ClusterListen.Select(a => a.Port).ToHashSet() : [];
        drain = new NodeDrain(app.Services.GetRequiredService<ClosableListenerFactory>(), statusPorts, config.WorkerShutdownTimeout, logger);
        var adminPorts = config.AdminListen.Select(a => a.Port).ToHashSet();
        var health = new DatabaseHealth(database);
        var info = new NodeInfo(nodeId, Environment.MachineName, config, context.EnabledPlugins);
        app.Use((http, next) =>
        {
            counters.RequestStarted();
            if (inlinePorts.Count == 0 || inlinePorts.Contains(http.Connection.LocalPort))
                return next(http);
            // The Admin, Status and cluster APIs: what follows a database read or a socket of theirs resumes on the thread pool.
            using (InlineIo.OffSocketThreads())
                return next(http);
        });

        // In front of the whole Admin API, so that every endpoint added later inherits the refusal.
        var writeGuard = database is not null && !config.AdminWritesDuringUpgrade
            ? UpgradeWriteGuard.For(database, context.Subsystems, app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("gantry.admin"))
            : null;
        var registry = CoreEntities.Registry(context.EnabledPlugins, Entities.Schema.ValidationContext.Of(config));
        // Without a database (database = off) the entities are in memory, in whichever database holds the
        // configuration being served; set before any listener accepts a connection.
        DbLessStore? dbless = null;
        var dao = new EntityDao(database ?? new ServedDatabase(() => dbless!.CurrentDatabase), registry, nodeId);
        var loggers = app.Services.GetRequiredService<ILoggerFactory>();
        var proxyLogger = loggers.CreateLogger("gantry.proxy");
        await using var targetHealth = new HealthRegistry(nodeId, loggers.CreateLogger("gantry.balancer"));
        // Without a database (database = off, data planes) tokens can be read from the served configuration but not issued, as in Kong.
        await using var pluginState = new Plugins.Pipeline.PluginNodeState
        {
            Database = database,
            OAuth2 = new Plugins.OAuth2.OAuth2Store(dao, new Entities.EntityWriter(dao, readOnly: database is null)),
        };
        await using var snapshots = new SnapshotHolder(
            new SnapshotBuilder(dao, registry, targetHealth, context.EnabledPlugins, pluginState, proxyLogger),
            dao, config.DbUpdateFrequency, proxyLogger);
        proxySnapshots = snapshots;
        await using var healthEvents = new HealthEvents(dao, targetHealth, config.DbUpdateFrequency, loggers.CreateLogger("gantry.balancer"));
        if (database is not null)
        {
            // A control plane proxies nothing: rebuilding proxy snapshots at every change would only take CPU from the data planes.
            await snapshots.StartAsync(cancellationToken, build: role != NodeRole.ControlPlane);
            await healthEvents.StartAsync(cancellationToken);
        }
        else
        {
            dbless = await DbLessStore.CreateAsync(registry, context.Subsystems, snapshots, nodeId, prefix.Root, loggers.CreateLogger("gantry.declarative"), cancellationToken);
            // A data plane serves what its control plane sends, or its cache of it; a document of its own only when it has no cache.
            if (role != NodeRole.DataPlane)
                await LoadStartingDocumentAsync(dbless, config, cancellationToken);
        }
        await using var disposeDbless = dbless;
        var timings = ClusterTimings.FromEnvironment();
        var linkCounters = new LinkCounters();
        ConfigFeed? feed = null;
        ControlPlaneEndpoint? clusterEndpoint = null;
        DataPlaneLink? link = null;
        // The data planes' rows, on a control plane only; its links report to the registry, the Admin API and metrics read it.
        var dataPlanes = role == NodeRole.ControlPlane && database is not null ? new DataPlaneRegistry(database, config.ClusterDataPlanePurgeDelay) : null;
        if (role == NodeRole.ControlPlane)
        {
            feed = new ConfigFeed(dao, config.DbUpdateFrequency, clusterLogger, context.FieldStripper);
            await feed.StartAsync(cancellationToken);
            dao.Committed += feed.Wake;
            clusterEndpoint = new ControlPlaneEndpoint(feed, config.ClusterMaxPayload, timings, linkCounters, clusterLogger,
                ControlPlaneRules.Of(context.EnabledPlugins), dataPlanes is null ? null : new DataPlaneReporter(dataPlanes, clusterLogger));
        }
        else if (role == NodeRole.DataPlane)
        {
            var identity = new DataPlaneIdentity(nodeId, Environment.MachineName, GantryInfo.Version,
                context.EnabledPlugins.Select(p => new DataPlanePlugin(p.Name, p.Version)).ToList(), config.ClusterDataPlaneLabels);
            link = new DataPlaneLink(config.ClusterControlPlane, clusterTls!, new DataPlaneApplier(dbless!, registry),
                new HybridCache(Path.Combine(prefix.Root, HybridCache.FileName), clusterLogger), identity, config.ClusterMaxPayload, timings, linkCounters, clusterLogger);
            await link.LoadCacheAsync(cancellationToken);
            // Kong's fallback: declarative_config serves until the control plane is reached, when nothing is cached.
            if (!dbless!.Loaded && (config.DeclarativeConfig ?? config.DeclarativeConfigString) is not null)
                await LoadStartingDocumentAsync(dbless, config, cancellationToken);
        }
        await using var disposeFeed = feed;
        await using var disposeLink = link;
        var adminLogger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("gantry.admin");
        var infoEndpoints = new InfoEndpoints(info, health, counters, role == NodeRole.ControlPlane ? null : snapshots, dbless, drain, HybridStatus(feed, clusterEndpoint, link, linkCounters));
        var adminApi = CreateAdminApi(context, dao, adminLogger, infoEndpoints, dbless, dataPlanes);
        new UpstreamHealthEndpoints(targetHealth, healthEvents).MapAll(adminApi);
        // The Status API serves the same /status and /status/ready as the Admin API, and nothing else.
        var statusApi = new AdminApi(dao, registry, adminLogger, serveEntities: false);
        infoEndpoints.MapStatus(statusApi);
        if (context.EnabledPlugins.Any(p => p.Name == Plugins.Prometheus.PrometheusPlugin.Descriptor.Name))
        {
            var metrics = new MetricsEndpoint(info, health, counters, pluginState.Prometheus, targetHealth,
                () => snapshots.Current.Plugins.Instances.Any(i => i.Instance.Handler is Plugins.Prometheus.PrometheusHandler { UpstreamHealthMetrics: true }),
                dataPlanes, link is null ? null : () => link.Connected);
            metrics.Map(adminApi);
            metrics.Map(statusApi);
        }
        var proxyCacheEnabled = context.EnabledPlugins.Any(p => p.Name == Plugins.ProxyCache.ProxyCachePlugin.Name);
        // Without a database there is no cluster to tell; a control plane caches nothing.
        await using var cachePurges = proxyCacheEnabled && database is not null && role != NodeRole.ControlPlane
            ? new Plugins.ProxyCache.ProxyCachePurges(dao, pluginState.ProxyCache, nodeId, config.DbUpdateFrequency, proxyLogger)
            : null;
        if (cachePurges is not null)
            await cachePurges.StartAsync(cancellationToken);
        if (proxyCacheEnabled)
            new Plugins.ProxyCache.ProxyCacheEndpoints(pluginState.ProxyCache, cachePurges).Map(adminApi);
        app.MapWhen(http => statusPorts.Contains(http.Connection.LocalPort), status => status.Run(statusApi.HandleAsync));
        if (clusterEndpoint is not null)
        {
            app.MapWhen(http => clusterPorts.Contains(http.Connection.LocalPort), cluster =>
            {
                cluster.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.Zero });
                cluster.Run(clusterEndpoint.HandleAsync);
            });
        }
        using var http1Forwarder = config.Get("proxy_forwarder") == "auto"
            ? new Proxy.Http1.Http1Forwarder(new Proxy.Http1.UpstreamKeepalive(config.GetInt("upstream_keepalive_pool_size"),
                config.GetInt("upstream_keepalive_max_requests"), TimeSpan.FromSeconds(config.GetInt("upstream_keepalive_idle_timeout"))),
                InlineIo.EpollLoops(config))
            : null;
        var proxy = new ProxyHandler(snapshots, app.Services.GetRequiredService<Yarp.ReverseProxy.Forwarder.IHttpForwarder>(),
            ProxyHeaders.From(config), app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("gantry.proxy"), http1Forwarder);
        app.MapWhen(http => adminPorts.Contains(http.Connection.LocalPort), admin =>
        {
            if (writeGuard is not null)
                admin.Use(writeGuard.InvokeAsync);
            admin.Run(adminApi.HandleAsync);
        });
        app.Run(proxy.HandleAsync);

        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch (IOException e)
        {
            throw new NodeStartException($"cannot bind a listener: {e.Message}; is another process using the port? Change proxy_listen, admin_listen, status_listen or cluster_listen");
        }
        link?.Start();
        var lifetime = app.Services.GetRequiredService<IHostApplicationLifetime>();
        var drainRequested = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var signals = new NodeSignals(() => drainRequested.TrySetResult(), lifetime.StopApplication);
        await using var stopOnCancel = cancellationToken.Register(lifetime.StopApplication);
        await File.WriteAllTextAsync(prefix.PidFile, Environment.ProcessId.ToString(), cancellationToken);
        logger.LogInformation("Gantry {Version} started (node {NodeId}, database {Database})", GantryInfo.Version, nodeId,
            database?.Location ?? "off");
        context.Started?.Invoke();
        try
        {
            await StopWhenAskedAsync(app, lifetime, drain, drainRequested.Task);
        }
        finally
        {
            TryDelete(prefix.PidFile);
            await app.DisposeAsync();
        }
    }

    /// <summary>What /status says of hybrid mode: the data planes a control plane serves, or a data plane's control plane.</summary>
    private static (string Key, Func<System.Text.Json.Nodes.JsonObject> Read)? HybridStatus(ConfigFeed? feed, ControlPlaneEndpoint? endpoint, DataPlaneLink? link,
        LinkCounters counters)
    {
        if (link is not null)
            return ("control_plane", link.Status);
        if (feed is null || endpoint is null)
            return null;
        return ("clustering", () =>
        {
            var status = new System.Text.Json.Nodes.JsonObject
            {
                ["data_planes_connected"] = endpoint.Connected,
                ["config_hash"] = feed.Hash,
                ["version"] = feed.Version,
                ["entities"] = feed.Count,
            };
            foreach (var (name, value) in counters.ToJson())
                status[name] = value?.DeepClone();
            return status;
        });
    }

    /// <summary>
    /// Waits for a drain (SIGQUIT, SIGTERM) or a fast stop (SIGINT, the caller's token), then stops the host.
    /// A fast stop during a drain cuts it short; a drain that ran out of time cuts the connections left.
    /// </summary>
    private static async Task StopWhenAskedAsync(WebApplication app, IHostApplicationLifetime lifetime, NodeDrain drain, Task drainRequested)
    {
        var stopRequested = Task.Delay(Timeout.Infinite, lifetime.ApplicationStopping).ContinueWith(_ => { }, TaskScheduler.Default);
        var cutConnections = false;
        if (await Task.WhenAny(drainRequested, stopRequested) == drainRequested)
            cutConnections = !await drain.RunAsync(lifetime.ApplicationStopping);
        try
        {
            // A cancelled token makes Kestrel abort the connections still open instead of waiting for them.
            await app.StopAsync(cutConnections ? new CancellationToken(canceled: true) : CancellationToken.None);
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>
    /// A node without a database serves the document it is given at start (or the last one it accepted);
    /// one that cannot be read or is invalid stops the start, naming every problem.
    /// </summary>
    private static async Task LoadStartingDocumentAsync(DbLessStore store, GantryConfig config, CancellationToken cancellationToken)
    {
        (string Text, string Source)? document;
        try
        {
            document = store.StartingDocument(config.DeclarativeConfigString, config.DeclarativeConfig);
        }
        catch (IOException e)
        {
            throw new NodeStartException(e.Message + "; fix the path in declarative_config", e);
        }
        if (document is not { } start)
            return;
        var load = await store.ApplyAsync(start.Text, cancellationToken);
        if (!load.Applied)
        {
            var problems = load.Errors.SelectMany(e => e.Lines());
            if (load.Problem is { } problem)
                problems = problems.Append(problem);
            throw new NodeStartException($"the declarative configuration from {start.Source} is invalid:\n  " + string.Join("\n  ", problems));
        }
    }

    private static AdminApi CreateAdminApi(GantryNodeOptions context, EntityDao dao, ILogger logger, InfoEndpoints infoEndpoints, DbLessStore? dbless,
        DataPlaneRegistry? dataPlanes)
    {
        var api = new AdminApi(dao, dao.Registry, logger, AdminCors.From(context.Config), readOnly: dbless is not null);
        new ConfigEndpoints(dbless, context.Config.Role == NodeRole.DataPlane ? context.Config.ClusterControlPlane : null).Map(api);
        infoEndpoints.MapAll(api);
        SchemaEndpoints.MapAll(api);
        TagEndpoints.MapAll(api);
        PluginEndpoints.Map(api, context.EnabledPlugins);
        new ClusteringEndpoints(dataPlanes).Map(api);
        return api;
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>Facts about the node that its APIs report.</summary>
internal sealed record NodeInfo(Guid NodeId, string Hostname, GantryConfig Config, IReadOnlyList<PluginDescriptor> EnabledPlugins);

/// <summary>Whether the database answers, checked when asked and never for longer than a second.</summary>
internal sealed class DatabaseHealth(IDatabase? database)
{
    public async Task<bool?> IsReachableAsync(CancellationToken cancellationToken)
    {
        if (database is null)
            return null;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(1));
        try
        {
            await database.PingAsync(timeout.Token);
            return true;
        }
        catch (Exception e) when (e is DatabaseUnavailableException or OperationCanceledException or System.Data.Common.DbException)
        {
            return false;
        }
    }
}


