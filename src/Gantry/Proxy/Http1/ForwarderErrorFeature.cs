using Yarp.ReverseProxy.Forwarder;

namespace Gantry.Proxy.Http1;

/// <summary>The failure of a forward, where YARP's forwarder would put it (its own class is internal).</summary>
internal sealed class ForwarderErrorFeature(ForwarderError error, Exception? exception) : IForwarderErrorFeature
{
    public ForwarderError Error { get; } = error;

    public Exception? Exception { get; } = exception;
}
