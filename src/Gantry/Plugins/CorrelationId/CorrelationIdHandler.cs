using Gantry.Plugins.Pipeline;

namespace Gantry.Plugins.CorrelationId;

/// <summary>
/// Gives the request an id in <c>header_name</c> unless the client sent one, sends it upstream, and
/// echoes it to the client when <c>echo_downstream</c> is on.
/// </summary>
public sealed class CorrelationIdHandler(PluginConfig config) : PluginHandler
{
    // One random prefix per process for uuid#counter, as a worker's id would be.
    private static readonly string CounterPrefix = Guid.NewGuid().ToString();
    private static long _counter;

    private readonly string _header = config.Text("header_name") ?? "Kong-Request-ID";
    private readonly string _generator = config.Text("generator") ?? "uuid#counter";
    private readonly bool _echo = config.Flag("echo_downstream", false);

    public override ValueTask AccessAsync(PluginRequest request)
    {
        var headers = request.Http.Request.Headers;
        var id = headers[_header].ToString();
        if (id.Length == 0)
        {
            id = Generate(request.Http);
            headers[_header] = id;
        }
        if (_echo)
            request.SetResponseHeader(_header, id);
        return ValueTask.CompletedTask;
    }

    private string Generate(HttpContext http) => _generator switch
    {
        "uuid" => Guid.NewGuid().ToString(),
        // Where the request came in and from: server address and port, process, connection, client address.
        "tracker" => $"{http.Connection.LocalIpAddress}-{http.Connection.LocalPort}-{Environment.ProcessId}-{http.Connection.Id}-{http.TraceIdentifier}-{http.Connection.RemoteIpAddress}",
        _ => $"{CounterPrefix}#{Interlocked.Increment(ref _counter)}",
    };
}
