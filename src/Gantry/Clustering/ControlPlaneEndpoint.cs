using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Threading.Channels;
using Gantry.Clustering.Compatibility;
using Gantry.Clustering.Registry;

namespace Gantry.Clustering;

/// <summary>A message of the link that is not configuration (a pong, a status), queued in order with it.</summary>
public sealed record MessageItem(string Type, byte[] Frame) : FeedItem;

/// <summary>
/// The control plane's end of the link, <c>/v1/gantry/sync</c> on cluster_listen (whose TLS handshake has
/// already checked the data plane's certificate): takes the data plane's hello and refuses a release it
/// cannot feed, then sends it what brings it up to date and every later change, answers its pings, and
/// sends the whole configuration again when it asks (resync). While the configuration uses a plugin the
/// data plane lacks, it is sent a <c>status</c> instead, and the whole configuration once that no longer
/// holds. Every hello, ping, applied and change of status is reported to the registry.
/// </summary>
public sealed class ControlPlaneEndpoint(
    ConfigFeed feed,
    int maxPayload,
    ClusterTimings timings,
    LinkCounters counters,
    ILogger logger,
    ControlPlaneRules? rules = null,
    DataPlaneReporter? reporter = null)
{
    public const string Path = "/v1/gantry/sync";

    /// <summary>How long a refused data plane's row may take to be written before its link is closed.</summary>
    private static readonly TimeSpan RefusalReportWait = TimeSpan.FromSeconds(2);

    private readonly ControlPlaneRules _rules = rules ?? new ControlPlaneRules(GantryInfo.Release, new Dictionary<string, string>());

    // The last whole configurations encoded (one per form: as served, and per stripped release), shared by
    // the data planes that need them at the same version.
    private readonly List<(long Version, string Hash, Lazy<List<byte[]>> Parts)> _lastFull = [];
    private readonly object _fullGate = new();

    /// <summary>
    /// Parts of whole configurations being written at once, across all data planes. Writing one costs its size
    /// again in TLS and socket buffers until the data plane has read it, so hundreds of data planes
    /// reconnecting together (a control plane restart) would hold hundreds of copies; deltas never wait.
    /// </summary>
    private readonly SemaphoreSlim _partsInFlight = new(Math.Max(2, Environment.ProcessorCount * 2));

    /// <summary>How long one part may take to be written before the data plane is taken for gone.</summary>
    private static readonly TimeSpan PartTimeout = TimeSpan.FromSeconds(60);

    // What stripping each data plane was told about, so that a reconnect does not log it again.
    private readonly ConcurrentDictionary<(string NodeId, FieldIntroduction Field), bool> _strippedLogged = new();

    private ILogger Logger => logger;

    private DataPlaneReporter? Reporter => reporter;

    /// <summary>Data planes connected to this node now, for /status.</summary>
    public int Connected => feed.Subscribers;

    public async Task HandleAsync(HttpContext http)
    {
        if (http.Request.Path != Path)
        {
            http.Response.StatusCode = 404;
            return;
        }
        if (!http.WebSockets.IsWebSocketRequest)
        {
            http.Response.StatusCode = 400;
            await http.Response.WriteAsync("a WebSocket upgrade is expected here");
            return;
        }
        var certificate = await http.Connection.GetClientCertificateAsync(http.RequestAborted);
        var ip = http.Connection.RemoteIpAddress?.ToString() ?? "";
        using var webSocket = await http.WebSockets.AcceptWebSocketAsync();
        var socket = new ClusterSocket(webSocket, maxPayload, counters);
        var stopping = http.RequestAborted;
        DataPlaneHello hello;
        try
        {
            using var first = await socket.ReceiveAsync(timings.Silence, stopping);
            if (first is null)
                return;
            if (ClusterMessages.TypeOf(first) != ClusterMessages.Hello)
            {
                logger.LogWarning("data plane at {Ip} refused: its first message is '{Type}', not hello", ip, ClusterMessages.TypeOf(first));
                await socket.CloseAsync(WebSocketCloseStatus.ProtocolError, "the first message must be hello");
                return;
            }
            hello = DataPlaneHello.Parse(first.RootElement, ip, certificate);
        }
        catch (Exception e) when (e is LinkClosedException or LinkRefusedException or InvalidDataException or WebSocketException)
        {
            logger.LogWarning("data plane at {Ip} dropped before its hello: {Message}", ip, e.Message);
            return;
        }

        var session = new Session(this, hello);
        var release = ReleaseCompatibility.Check(_rules.Release, hello.Version);
        if (!release.IsCompatible)
        {
            await RefuseAsync(socket, session, release);
            return;
        }
        logger.LogInformation("data plane {NodeId} ({Hostname}, {Ip}, release {Version}) connected, serving {Hash}", hello.NodeId, hello.Hostname, ip, hello.Version, hello.ConfigHash);
        var output = Channel.CreateUnbounded<FeedItem>(new UnboundedChannelOptions { SingleReader = true });
        var subscription = feed.Subscribe(hello.ConfigHash, output.Writer, ReleaseVersion.Parse(hello.Version));
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        var sender = SendAllAsync(output.Reader, socket, session, subscription, stop.Token);
        var reason = "closed by the data plane";
        try
        {
            while (!stop.IsCancellationRequested)
            {
                using var message = await socket.ReceiveAsync(timings.Silence, stop.Token);
                if (message is null)
                    break;
                var body = message.RootElement;
                switch (ClusterMessages.TypeOf(message))
                {
                    case ClusterMessages.Ping:
                        output.Writer.TryWrite(new MessageItem(ClusterMessages.Pong, ClusterMessages.Encode(ClusterMessages.Pong)));
                        session.Seen(ClusterMessages.StringOf(body, "config_hash"));
                        break;
                    case ClusterMessages.Applied:
                        logger.LogDebug("data plane {NodeId} applied version {Version} ({Hash})", hello.NodeId, ClusterMessages.LongOf(body, "version"), ClusterMessages.StringOf(body, "config_hash"));
                        session.Seen(ClusterMessages.StringOf(body, "config_hash"));
                        break;
                    case ClusterMessages.Resync:
                        logger.LogWarning("data plane {NodeId} asks for the whole configuration: {Reason}", hello.NodeId, ClusterMessages.StringOf(body, "reason"));
                        subscription.QueueFull();
                        break;
                }
                if (sender.IsCompleted)
                    break;
            }
        }
        catch (Exception e) when (e is LinkClosedException or LinkRefusedException or InvalidDataException or WebSocketException or OperationCanceledException)
        {
            reason = e.Message;
        }
        finally
        {
            subscription.Dispose();
            output.Writer.TryComplete();
            await stop.CancelAsync();
            await sender.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
        logger.LogInformation("data plane {NodeId} ({Hostname}, {Ip}) disconnected: {Reason}", hello.NodeId, hello.Hostname, ip, reason);
    }

    /// <summary>
    /// A release this control plane cannot feed: recorded, told in a status message (whose text is not cut
    /// as a close frame's reason is, at 123 bytes), and closed with 1008.
    /// </summary>
    private async Task RefuseAsync(ClusterSocket socket, Session session, CompatibilityVerdict verdict)
    {
        var hello = session.Hello;
        logger.LogWarning("data plane {NodeId} ({Hostname}, {Ip}, release {Version}) refused: {Status}: {Reason}",
            hello.NodeId, hello.Hostname, hello.Ip, hello.Version, verdict.Status.Wire(), verdict.Message);
        session.Change(verdict.Status);
        try
        {
            await socket.SendAsync(StatusMessage(verdict.Status, verdict.Message!), ClusterMessages.Status, CancellationToken.None);
        }
        catch (Exception e) when (e is WebSocketException or IOException or ObjectDisposedException)
        {
        }
        await session.FlushAsync(RefusalReportWait);
        await socket.CloseAsync(WebSocketCloseStatus.PolicyViolation, $"{verdict.Status.Wire()}: {verdict.Message}");
    }

    private static byte[] StatusMessage(SyncStatus status, string message) => ClusterMessages.Encode(ClusterMessages.Status, w =>
    {
        w.WriteString("sync_status", status.Wire());
        w.WriteString("message", message);
    });

    /// <summary>
    /// The one place configuration is sent to a data plane: each item only while the data plane has every plugin
    /// the configuration uses once the item is applied; otherwise a status, and, once it has them again, the
    /// whole configuration (it missed the deltas in between), after which the deltas the whole already holds are
    /// dropped. The feed gives a data plane of an older release items already stripped for it.
    /// </summary>
    private async Task SendAllAsync(ChannelReader<FeedItem> items, ClusterSocket socket, Session session, ConfigFeed.FeedSubscription subscription,
        CancellationToken cancellationToken)
    {
        try
        {
            var withheld = !await session.AdmitsAsync(subscription.Plugins, socket, cancellationToken);
            long wholeSent = 0;
            await foreach (var item in items.ReadAllAsync(cancellationToken))
            {
                if (item is MessageItem message)
                {
                    await socket.SendAsync(message.Frame, message.Type, cancellationToken);
                    continue;
                }
                var config = (ConfigItem)item;
                if (withheld || !session.Judge(config.Plugins).IsCompatible)
                {
                    // What matters is what the configuration uses now, not this item's set: a data plane caught up
                    // through a plugin added then removed gets the whole at once, without being told it is held.
                    if (!await session.AdmitsAsync(subscription.CurrentPlugins, socket, cancellationToken))
                    {
                        withheld = true;
                        continue;
                    }
                    var whole = subscription.Full();
                    if (!await session.AdmitsAsync(whole.Plugins, socket, cancellationToken))
                    {
                        withheld = true;
                        continue;
                    }
                    config = whole;
                    withheld = false;
                }
                if (config is DeltaItem { Delta: var large } && large.Version > wholeSent && !large.FitsIn(maxPayload))
                {
                    // The data plane would refuse the frame (cluster_max_payload); the whole goes in parts that fit.
                    logger.LogInformation("a change of {Changes} entities ({Bytes} bytes of JSON) does not fit in cluster_max_payload ({MaxPayload}): sending data plane {NodeId} the whole configuration instead",
                        large.Changes.Count, large.PlainLength, maxPayload, session.Hello.NodeId);
                    config = subscription.Full();
                }
                switch (config)
                {
                    case DeltaItem delta when delta.Delta.Version <= wholeSent:
                        // Already in the whole configuration sent.
                        break;
                    case DeltaItem delta:
                        LogStripped(session.Hello, delta.Stripped);
                        await socket.SendAsync(delta.Delta.Encoded, ClusterMessages.Delta, cancellationToken);
                        break;
                    case FullItem full:
                        LogStripped(session.Hello, full.Stripped);
                        var parts = EncodedFull(full);
                        foreach (var part in parts)
                        {
                            await _partsInFlight.WaitAsync(cancellationToken);
                            try
                            {
                                // A data plane that stops reading gives its turn up after a while: its link is dropped.
                                using var slow = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                                slow.CancelAfter(PartTimeout);
                                await socket.SendAsync(part, ClusterMessages.Full, slow.Token);
                            }
                            finally
                            {
                                _partsInFlight.Release();
                            }
                        }
                        wholeSent = full.Version;
                        logger.LogInformation("sent the whole configuration (version {Version}, {Entities} entities, {Bytes} bytes in {Parts} parts) to data plane {NodeId}",
                            full.Version, full.Entities.Count, parts.Sum(p => p.Length), parts.Count, session.Hello.NodeId);
                        break;
                }
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException)
        {
            socket.WebSocket.Abort();
        }
    }

    private void LogStripped(DataPlaneHello hello, IReadOnlyList<FieldIntroduction> stripped)
    {
        foreach (var field in stripped)
        {
            if (_strippedLogged.TryAdd((hello.NodeId, field), true))
                logger.LogWarning("stripped {Field} from the configuration sent to data plane {NodeId} ({Hostname}, release {Version}): its release does not know the field",
                    field, hello.NodeId, hello.Hostname, hello.Version);
        }
    }

    /// <summary>
    /// The parts of a whole configuration, encoded once however many data planes ask for it at the same time
    /// (a control plane restarted with hundreds of data planes reconnecting at once).
    /// </summary>
    private List<byte[]> EncodedFull(FullItem full)
    {
        Lazy<List<byte[]>>? parts = null;
        lock (_fullGate)
        {
            foreach (var last in _lastFull)
            {
                if (last.Version == full.Version && last.Hash == full.Hash)
                    parts = last.Parts;
            }
            if (parts is null)
            {
                parts = new Lazy<List<byte[]>>(() => ClusterMessages.EncodeFull(full.Version, full.Hash, full.Entities, maxPayload));
                _lastFull.Add((full.Version, full.Hash, parts));
                // One per form in use is enough: as served, and one per older release being stripped for.
                if (_lastFull.Count > 4)
                    _lastFull.RemoveAt(0);
            }
        }
        return parts.Value;
    }

    /// <summary>One data plane's link: where it stands (its status, the hash it reports) and its reports to the registry.</summary>
    private sealed class Session
    {
        private readonly ControlPlaneEndpoint _endpoint;
        private readonly DataPlaneReporter.Queue? _reports;
        private readonly Guid _id;
        private readonly IReadOnlyList<DataPlanePlugin> _plugins;
        private IReadOnlySet<string>? _judged;
        private CompatibilityVerdict _verdict = CompatibilityVerdict.Compatible;
        private string? _told;
        private volatile string _hash;
        private volatile int _status = (int)SyncStatus.Unknown;

        public Session(ControlPlaneEndpoint endpoint, DataPlaneHello hello)
        {
            _endpoint = endpoint;
            Hello = hello;
            _hash = hello.ConfigHash;
            _plugins = hello.Plugins.Select(p => new DataPlanePlugin(p.Name, p.Version)).ToList();
            if (endpoint.Reporter is null)
                return;
            if (Guid.TryParse(hello.NodeId, out _id))
                _reports = endpoint.Reporter.For();
            else
                endpoint.Logger.LogWarning("data plane at {Ip} says its node_id is '{NodeId}', not a UUID: it is served but not listed in /clustering/data-planes", hello.Ip, hello.NodeId);
        }

        public DataPlaneHello Hello { get; }

        private SyncStatus Status => (SyncStatus)_status;

        /// <summary>A ping or applied: the hash the data plane serves now.</summary>
        public void Seen(string? hash)
        {
            if (hash is not null)
                _hash = hash;
            Report();
        }

        public void Change(SyncStatus status)
        {
            _status = (int)status;
            Report();
        }

        public Task FlushAsync(TimeSpan timeout) => _reports?.FlushAsync(timeout) ?? Task.CompletedTask;

        /// <summary>
        /// Whether the data plane may be sent a configuration that uses <paramref name="plugins"/>; when that changes,
        /// it is told (a status message), both sides log it and its row says so. The verdict is kept for as long as the
        /// same set comes back, which is until a plugin name appears in the configuration or leaves it.
        /// </summary>
        public async Task<bool> AdmitsAsync(IReadOnlySet<string> plugins, ClusterSocket socket, CancellationToken cancellationToken)
        {
            Judge(plugins);
            var previous = Status;
            if (_verdict.IsCompatible)
            {
                if (previous != SyncStatus.Normal)
                {
                    if (previous != SyncStatus.Unknown)
                        _endpoint.Logger.LogInformation("data plane {NodeId} ({Hostname}) has every plugin the configuration uses now: it is sent the whole configuration",
                            Hello.NodeId, Hello.Hostname);
                    _told = null;
                    Change(SyncStatus.Normal);
                }
                return true;
            }
            if (previous != _verdict.Status || _told != _verdict.Message)
            {
                _endpoint.Logger.LogWarning("configuration withheld from data plane {NodeId} ({Hostname}, release {Version}): {Status}: {Message}",
                    Hello.NodeId, Hello.Hostname, Hello.Version, _verdict.Status.Wire(), _verdict.Message);
                _told = _verdict.Message;
                Change(_verdict.Status);
                await socket.SendAsync(StatusMessage(_verdict.Status, _verdict.Message!), ClusterMessages.Status, cancellationToken);
            }
            return false;
        }

        /// <summary>The plugin check for a configuration that uses <paramref name="plugins"/>, kept for as long as the same set comes back.</summary>
        public CompatibilityVerdict Judge(IReadOnlySet<string> plugins)
        {
            if (ReferenceEquals(plugins, _judged))
                return _verdict;
            var first = _judged is null;
            _judged = plugins;
            _verdict = PluginCompatibility.Check(plugins, _endpoint._rules.Plugins, _plugins);
            if (first)
            {
                foreach (var warning in _verdict.Warnings)
                    _endpoint.Logger.LogWarning("data plane {NodeId} ({Hostname}): {Warning}", Hello.NodeId, Hello.Hostname, warning);
            }
            return _verdict;
        }

        private void Report()
        {
            if (_reports is null)
                return;
            var certificate = Hello.Certificate;
            _reports.Report(new DataPlaneReport(_id, Hello.Hostname, Hello.Ip, Hello.Version, Status, _hash,
                Hello.Labels.Count == 0 ? null : Hello.Labels,
                certificate is null ? null : new DateTimeOffset(certificate.NotAfter).ToUnixTimeSeconds()));
        }
    }
}
