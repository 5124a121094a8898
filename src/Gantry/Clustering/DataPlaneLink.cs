using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gantry.Node;

namespace Gantry.Clustering;

/// <summary>What a data plane tells its control plane about itself in its hello.</summary>
public sealed record DataPlaneIdentity(Guid NodeId, string Hostname, string Version, IReadOnlyList<Compatibility.DataPlanePlugin> Plugins, IReadOnlyList<string> Labels);

/// <summary>The control plane refused this data plane (its release); it tries again at the usual pace, in case the control plane is upgraded.</summary>
public sealed class LinkRefusedException(string message) : Exception(message);

/// <summary>
/// The data plane's end of the link: connects to cluster_control_plane over TLS with its cluster
/// certificate (and checks the control plane's), says hello with the hash it serves, applies what it is
/// sent (<see cref="DataPlaneApplier"/>), acknowledges each applied configuration, asks for the whole one
/// when a delta does not apply, pings, and reconnects after a random pause when the link drops, forever.
/// What it applied is written to the cache, which it serves at the next start before connecting.
/// </summary>
public sealed class DataPlaneLink(
    string controlPlane,
    ClusterTls tls,
    DataPlaneApplier applier,
    HybridCache cache,
    DataPlaneIdentity identity,
    int maxPayload,
    ClusterTimings timings,
    LinkCounters counters,
    ILogger logger) : IAsyncDisposable
{
    private readonly SemaphoreSlim _applying = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;
    private long _lastContact;
    private volatile bool _connected;
    private string? _lastFailure;
    private volatile string _syncStatus = "unknown";

    public bool Connected => _connected;

    public string SyncStatus => _syncStatus;

    /// <summary>The configuration hash the data plane serves.</summary>
    public string Hash
    {
        get
        {
            _applying.Wait();
            try
            {
                return applier.Hash;
            }
            finally
            {
                _applying.Release();
            }
        }
    }

    /// <summary>The data plane's <c>control_plane</c> object of /status.</summary>
    public JsonObject Status()
    {
        var last = Interlocked.Read(ref _lastContact);
        var status = new JsonObject
        {
            ["connected"] = _connected,
            ["address"] = controlPlane,
            ["last_contact"] = last == 0 ? null : last,
            ["sync_status"] = _syncStatus,
        };
        foreach (var (name, value) in counters.ToJson())
            status[name] = value?.DeepClone();
        return status;
    }

    /// <summary>Serves the cached configuration, if there is one, before the control plane is reached.</summary>
    public async Task LoadCacheAsync(CancellationToken cancellationToken)
    {
        if (cache.Read() is not { } cached)
            return;
        try
        {
            await applier.ApplyFullAsync(cached.Version, cached.Hash, cached.Entities, cancellationToken);
            logger.LogInformation("serving the cached configuration {Path} ({Entities} entities, hash {Hash}) until the control plane is reached",
                cache.Path, cached.Entities.Count, cached.Hash);
        }
        catch (ConfigurationRefusedException e)
        {
            logger.LogError("the cached configuration {Path} is not served: {Message}", cache.Path, e.Message);
        }
    }

    public void Start() => _loop = InlineIo.RunOffSocketThreads(RunAsync);

    private async Task RunAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                await ConnectAndServeAsync(_stop.Token);
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (LinkRefusedException e)
            {
                // Refused again for the same reason until the control plane is upgraded: said once, not at every retry.
                if (e.Message != _lastFailure)
                    logger.LogError("the control plane at {Address} refuses this data plane (release {Release}): {Reason}; serving the last configuration ({Hash}) "
                        + "and trying again every {Min} to {Max} s", controlPlane, identity.Version, e.Message, applier.Hash, timings.ReconnectMin.TotalSeconds, timings.ReconnectMax.TotalSeconds);
                else
                    logger.LogDebug("the control plane at {Address} still refuses this data plane: {Reason}", controlPlane, e.Message);
                _lastFailure = e.Message;
            }
            catch (Exception e)
            {
                logger.LogWarning("link to the control plane at {Address} {State}: {Reason}; serving the last configuration ({Hash}) and reconnecting",
                    controlPlane, _connected ? "lost" : "failed", Reason(e, beforeLink: !_connected), applier.Hash);
                _lastFailure = null;
            }
            _connected = false;
            try
            {
                await Task.Delay(timings.ReconnectDelay(), _stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>
    /// The innermost explanation of a failed connection (the handler wraps what the TLS callback threw). A
    /// connection that was made and then dropped before the link was up may be a control plane refusing this
    /// node's certificate (with TLS 1.3 the client learns it only after its handshake), so that case says
    /// what to check; a refused connect or a link lost later does not.
    /// </summary>
    private static string Reason(Exception e, bool beforeLink)
    {
        for (var inner = e; inner is not null; inner = inner.InnerException)
        {
            if (inner is LinkClosedException)
                return inner.Message;
        }
        var deepest = e;
        while (deepest.InnerException is not null)
            deepest = deepest.InnerException;
        var text = deepest == e ? e.Message : $"{e.Message} ({deepest.Message})";
        var couldBeRefusal = beforeLink && deepest is not SocketException
            && e is WebSocketException or HttpRequestException or IOException or AuthenticationException;
        return couldBeRefusal
            ? text + "; a control plane that refuses this node's certificate closes the connection in the TLS handshake: check cluster_cert and cluster_mtls"
            : text;
    }

    private async Task ConnectAndServeAsync(CancellationToken cancellationToken)
    {
        using var handler = new SocketsHttpHandler { ConnectCallback = ConnectTlsAsync, ConnectTimeout = TimeSpan.FromSeconds(10) };
        using var invoker = new HttpMessageInvoker(handler);
        using var webSocket = new ClientWebSocket();
        webSocket.Options.KeepAliveInterval = TimeSpan.Zero;
        // The TLS is the connect callback's, so the handler is asked for plain ws: it must not wrap the stream again.
        var uri = new Uri($"ws://{controlPlane}{ControlPlaneEndpoint.Path}?node_id={identity.NodeId}&node_hostname={Uri.EscapeDataString(identity.Hostname)}&node_version={identity.Version}");
        using (var connecting = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            connecting.CancelAfter(timings.Silence);
            await webSocket.ConnectAsync(uri, invoker, connecting.Token);
        }
        var socket = new ClusterSocket(webSocket, maxPayload, counters);
        await socket.SendAsync(Hello(), ClusterMessages.Hello, cancellationToken);
        // Answered after whatever brings this node up to date was queued: the pong says the control plane is done.
        await socket.SendAsync(Ping(), ClusterMessages.Ping, cancellationToken);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var pinger = PingAsync(socket, stop.Token);
        try
        {
            await ServeAsync(socket, stop.Token);
        }
        finally
        {
            await stop.CancelAsync();
            await pinger.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private async ValueTask<Stream> ConnectTlsAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var tcp = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await tcp.ConnectAsync(context.DnsEndPoint, cancellationToken);
        }
        catch
        {
            tcp.Dispose();
            throw;
        }
        var ssl = new SslStream(new NetworkStream(tcp, ownsSocket: true));
        string? refusal = null;
        try
        {
            await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = tls.ServerName,
                ClientCertificateContext = SslStreamCertificateContext.Create(tls.Certificate, null, offline: true),
                EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                ApplicationProtocols = [SslApplicationProtocol.Http11],
                RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                {
                    var peer = certificate as X509Certificate2 ?? (certificate is null ? null : X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()));
                    refusal = tls.RefusalOfControlPlane(peer);
                    return refusal is null;
                },
            }, cancellationToken);
            return ssl;
        }
        catch (AuthenticationException e)
        {
            await ssl.DisposeAsync();
            throw refusal is null
                ? new LinkClosedException($"TLS handshake with the control plane failed: {e.Message}; if the control plane logged a refused data plane, check cluster_cert and cluster_mtls")
                : new LinkClosedException("refused the control plane's certificate: " + refusal);
        }
        catch
        {
            await ssl.DisposeAsync();
            throw;
        }
    }

    private async Task ServeAsync(ClusterSocket socket, CancellationToken cancellationToken)
    {
        // A whole configuration's entities as they come, part by part: each part's document is let go at once.
        var full = new List<(string Type, string Json)>();
        var partsReceived = 0;
        var awaitingFull = false;
        // Where this node stands is the control plane's to say again on every link: a status, or else normal once caught up (the pong).
        var held = false;
        try
        {
            while (true)
            {
                using var message = await socket.ReceiveAsync(timings.Silence, cancellationToken)
                    ?? throw new LinkClosedException("the control plane closed the link");
                Touch();
                var body = message.RootElement;
                var type = ClusterMessages.TypeOf(message);
                if (type == ClusterMessages.Status && ClusterMessages.StringOf(body, "sync_status") == "kong_version_incompatible")
                {
                    _syncStatus = "kong_version_incompatible";
                    throw new LinkRefusedException("kong_version_incompatible: " + ClusterMessages.StringOf(body, "message"));
                }
                // Connected once the control plane has accepted this node: its first answer after the hello.
                if (!_connected)
                {
                    _connected = true;
                    _lastFailure = null;
                    logger.LogInformation("connected to the control plane at {Address}, serving {Hash}", controlPlane, applier.Hash);
                }
                switch (type)
                {
                    case ClusterMessages.Full:
                        if (ClusterMessages.LongOf(body, "part") == 1)
                            (full, partsReceived) = ([], 0);
                        foreach (var item in body.GetProperty("entities").EnumerateArray())
                            full.Add((item.GetProperty("type").GetString()!, item.GetProperty("entity").GetRawText()));
                        if (++partsReceived < ClusterMessages.LongOf(body, "parts"))
                            break;
                        awaitingFull = false;
                        await ApplyFullAsync(socket, ClusterMessages.LongOf(body, "version"), ClusterMessages.StringOf(body, "config_hash") ?? "", full, cancellationToken);
                        (full, partsReceived) = ([], 0);
                        break;
                    case ClusterMessages.Delta:
                        // Deltas queued before the whole configuration that was asked for build on what is being replaced.
                        if (!awaitingFull)
                            awaitingFull = !await ApplyDeltaAsync(socket, body, cancellationToken);
                        break;
                    case ClusterMessages.Pong:
                        if (!held)
                            _syncStatus = "normal";
                        break;
                    case ClusterMessages.Status:
                        held = true;
                        _syncStatus = ClusterMessages.StringOf(body, "sync_status") ?? "unknown";
                        logger.LogWarning("the control plane withholds its configuration from this data plane ({Status}): {Message}; serving the last one",
                            _syncStatus, ClusterMessages.StringOf(body, "message"));
                        break;
                }
            }
        }
        finally
        {
            full.Clear();
        }
    }

    private async Task ApplyFullAsync(ClusterSocket socket, long version, string hash, List<(string Type, string Json)> entities, CancellationToken cancellationToken)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await _applying.WaitAsync(cancellationToken);
        try
        {
            await applier.ApplyFullAsync(version, hash, entities, cancellationToken);
        }
        catch (ConfigurationRefusedException e)
        {
            // Asking again would only bring the same one: the last configuration keeps serving.
            logger.LogError("the whole configuration version {Version} from the control plane is refused: {Message}; serving the last one ({Hash})", version, e.Message, applier.Hash);
            return;
        }
        finally
        {
            _applying.Release();
        }
        _syncStatus = "normal";
        logger.LogInformation("applied the whole configuration version {Version} ({Hash}) in {Milliseconds} ms", version, hash, clock.ElapsedMilliseconds);
        cache.Schedule(Snapshot);
        await socket.SendAsync(Applied(version, hash), ClusterMessages.Applied, cancellationToken);
    }

    /// <summary>False when the delta did not apply and the whole configuration was asked for.</summary>
    private async Task<bool> ApplyDeltaAsync(ClusterSocket socket, JsonElement delta, CancellationToken cancellationToken)
    {
        var version = ClusterMessages.LongOf(delta, "version");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await _applying.WaitAsync(cancellationToken);
        try
        {
            await applier.ApplyDeltaAsync(delta, cancellationToken);
        }
        catch (Exception e) when (e is ConfigurationRefusedException or InvalidOperationException or KeyNotFoundException or JsonException or Store.DatabaseUnavailableException)
        {
            logger.LogWarning("delta version {Version} not applied: {Message}; asking the control plane for the whole configuration", version, e.Message);
            await socket.SendAsync(ClusterMessages.Encode(ClusterMessages.Resync, w => w.WriteString("reason", e.Message)), ClusterMessages.Resync, cancellationToken);
            return false;
        }
        finally
        {
            _applying.Release();
        }
        _syncStatus = "normal";
        var hash = ClusterMessages.StringOf(delta, "config_hash")!;
        logger.LogInformation("applied delta version {Version} ({Changes} changes, hash {Hash}) in {Milliseconds} ms", version,
            delta.GetProperty("changes").GetArrayLength(), hash, clock.ElapsedMilliseconds);
        cache.Schedule(Snapshot);
        await socket.SendAsync(Applied(version, hash), ClusterMessages.Applied, cancellationToken);
        return true;
    }

    private (long Version, string Hash, List<WireEntity> Entities) Snapshot()
    {
        _applying.Wait();
        try
        {
            return applier.Snapshot();
        }
        finally
        {
            _applying.Release();
        }
    }

    private async Task PingAsync(ClusterSocket socket, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(timings.Ping);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
                await socket.SendAsync(Ping(), ClusterMessages.Ping, cancellationToken);
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException or IOException or ObjectDisposedException)
        {
        }
    }

    private void Touch() => Interlocked.Exchange(ref _lastContact, DateTimeOffset.UtcNow.ToUnixTimeSeconds());

    private byte[] Hello() => ClusterMessages.Encode(ClusterMessages.Hello, w =>
    {
        w.WriteString("node_id", identity.NodeId.ToString());
        w.WriteString("hostname", identity.Hostname);
        w.WriteString("version", identity.Version);
        w.WriteStartArray("plugins");
        foreach (var plugin in identity.Plugins)
        {
            w.WriteStartObject();
            w.WriteString("name", plugin.Name);
            w.WriteString("version", plugin.Version);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartObject("labels");
        foreach (var label in identity.Labels)
        {
            var colon = label.IndexOf(':');
            if (colon > 0)
                w.WriteString(label[..colon], label[(colon + 1)..]);
        }
        w.WriteEndObject();
        w.WriteString("config_hash", applier.Hash);
    });

    private byte[] Ping() => ClusterMessages.Encode(ClusterMessages.Ping, w => w.WriteString("config_hash", applier.Hash));

    private static byte[] Applied(long version, string hash) => ClusterMessages.Encode(ClusterMessages.Applied, w =>
    {
        w.WriteNumber("version", version);
        w.WriteString("config_hash", hash);
    });

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_loop is not null)
            await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await cache.DisposeAsync();
        _stop.Dispose();
    }
}
