namespace Gantry.Plugins.Pipeline;

/// <summary>
/// Thrown by a plugin's wrapper of the request body while the body streams upstream (a size limit that
/// only counting can check): the proxy answers with this status and message when the response has not
/// started, instead of the 400 a broken client body gets.
/// </summary>
public sealed class RequestBodyRefusedException(int status, string message) : IOException(message)
{
    public int Status { get; } = status;
}
