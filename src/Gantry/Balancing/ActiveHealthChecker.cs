using System.Diagnostics;
using System.Security.Authentication;
using System.Net.Sockets;

namespace Gantry.Balancing;

/// <summary>
/// Probes an upstream's entries in the background, off the request path: healthy ones every
/// <c>healthy.interval</c>, unhealthy ones every <c>unhealthy.interval</c> (0 leaves that group alone),
/// at most <c>concurrency</c> at a time. An http or https probe is a GET of <c>http_path</c> on a fresh
/// connection (a pooled one could hide a server that stopped accepting); a tcp probe only connects.
/// grpc and grpcs are probed as http and https.
/// </summary>
internal sealed class ActiveHealthChecker(UpstreamHealth health, HealthCheckSettings checks, ILogger logger)
{
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var healthyInterval = checks.HealthyInterval;
        var unhealthyInterval = checks.UnhealthyInterval;
        var tick = healthyInterval > TimeSpan.Zero && unhealthyInterval > TimeSpan.Zero
            ? TimeSpan.FromTicks(Math.Min(healthyInterval.Ticks, unhealthyInterval.Ticks))
            : healthyInterval > TimeSpan.Zero ? healthyInterval : unhealthyInterval;
        using var client = CreateClient();
        using var timer = new PeriodicTimer(tick);
        var clock = Stopwatch.StartNew();
        TimeSpan nextHealthy = TimeSpan.Zero, nextUnhealthy = TimeSpan.Zero;
        var options = new ParallelOptions { MaxDegreeOfParallelism = checks.ActiveConcurrency, CancellationToken = cancellationToken };
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                var now = clock.Elapsed;
                bool healthyDue = healthyInterval > TimeSpan.Zero && now >= nextHealthy;
                bool unhealthyDue = unhealthyInterval > TimeSpan.Zero && now >= nextUnhealthy;
                var balancer = health.Balancer;
                var due = new List<BalancerTarget>();
                foreach (var entry in balancer.Targets)
                {
                    if (balancer.Health.IsHealthy(entry.Index) ? healthyDue : unhealthyDue)
                        due.Add(entry);
                }
                await Parallel.ForEachAsync(due, options, async (entry, token) => health.ReportActive(entry, await ProbeAsync(client, entry, token)));
                if (healthyDue)
                    nextHealthy = now + healthyInterval;
                if (unhealthyDue)
                    nextUnhealthy = now + unhealthyInterval;
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            // A bug here must not take the node down; the upstream keeps its last known health.
            logger.LogError(e, "active health checks of upstream '{Upstream}' stopped", health.Definition.Name);
        }
    }

    private HttpMessageInvoker CreateClient()
    {
        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            UseCookies = false,
            PooledConnectionLifetime = TimeSpan.Zero,
            ConnectTimeout = checks.ActiveTimeout > TimeSpan.Zero ? checks.ActiveTimeout : Timeout.InfiniteTimeSpan,
            ActivityHeadersPropagator = null,
        };
        if (checks.ActiveHttpsSni is { } sni)
            handler.SslOptions.TargetHost = sni;
        if (!checks.ActiveVerifyCertificate)
            handler.SslOptions.RemoteCertificateValidationCallback = static (_, _, _, _) => true;
        return new HttpMessageInvoker(handler);
    }

    private async Task<HealthOutcome> ProbeAsync(HttpMessageInvoker client, BalancerTarget entry, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (checks.ActiveTimeout > TimeSpan.Zero)
            timeout.CancelAfter(checks.ActiveTimeout);
        try
        {
            if (checks.ActiveType == "tcp")
            {
                using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
                await socket.ConnectAsync(entry.Host, entry.Port, timeout.Token);
                return HealthOutcome.Success;
            }
            var scheme = checks.ActiveType is "https" or "grpcs" ? "https" : "http";
            using var request = new HttpRequestMessage(HttpMethod.Get, entry.Destination(scheme) + checks.ActiveHttpPath);
            request.Headers.Host = entry.HostHeader(scheme);
            request.Headers.ConnectionClose = true;
            foreach (var (name, values) in checks.ActiveHeaders)
                request.Headers.TryAddWithoutValidation(name, values);
            using var response = await client.SendAsync(request, timeout.Token);
            int status = (int)response.StatusCode;
            if (checks.ActiveUnhealthyStatuses.Contains(status))
                return HealthOutcome.HttpFailure;
            return checks.ActiveHealthyStatuses.Contains(status) ? HealthOutcome.Success : HealthOutcome.Ignored;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return HealthOutcome.Timeout;
        }
        catch (Exception e) when (e is HttpRequestException or SocketException or AuthenticationException or IOException)
        {
            return HealthOutcome.TcpFailure;
        }
    }
}
