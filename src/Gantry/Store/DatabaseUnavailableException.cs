namespace Gantry.Store;

/// <summary>The datastore cannot be reached; the message says where Gantry tried and why it failed.</summary>
public sealed class DatabaseUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
