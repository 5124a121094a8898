namespace Gantry.Routing;

/// <summary>A route that cannot be compiled; the message names the route and the offending value.</summary>
public sealed class RouterConfigurationException(string message, Exception? inner = null)
    : Exception(message, inner);
