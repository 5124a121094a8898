using Gantry.Configuration;

namespace Gantry.Node;

/// <summary>
/// proxy_inline_io: the nginx model, one thread per request from socket to socket. Two settings make it:
/// the runtime's inline socket completions (continuations run on the socket engine's threads, one per core,
/// instead of hopping to the thread pool) and Kestrel's inline scheduling on the proxy listeners (requests
/// run where their bytes arrived). The runtime reads its setting once, from the environment, when the first
/// socket is used, so <see cref="Apply"/> runs before anything connects (the database among others).
/// </summary>
internal static class InlineIo
{
    public const string RuntimeVariable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    /// <summary>Whether the node's proxy listeners schedule inline.</summary>
    public static bool Enabled(GantryConfig config) => config.GetBool("proxy_inline_io");

    /// <summary>Turns the runtime's inline completions on when the configuration asks for them; a no-op otherwise or when already on.</summary>
    public static void Apply(GantryConfig config)
    {
        if (Enabled(config) && Environment.GetEnvironmentVariable(RuntimeVariable) != "1")
            Environment.SetEnvironmentVariable(RuntimeVariable, "1");
    }
}
