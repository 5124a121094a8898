namespace Gantry.Node;

/// <summary>A node cannot start: a listener, a certificate or the prefix directory is unusable. The message says which and what to change.</summary>
public sealed class NodeStartException(string message, Exception? inner = null) : Exception(message, inner);
