using Gantry.Configuration;

namespace Gantry.Entities.Schema;

/// <summary>
/// What validation knows about the node that writes the entity, for rules that depend on it (a plugin
/// setting a control plane cannot hand to its data planes, or that needs a database the node lacks).
/// Given once, where the node's schemas are built.
/// </summary>
public sealed record ValidationContext(NodeRole Role)
{
    /// <summary>A standalone node: no rule of this kind applies.</summary>
    public static ValidationContext Traditional { get; } = new(NodeRole.Traditional);

    /// <summary>False on a node configured with <c>database = off</c> (database-less, and every data plane).</summary>
    public bool HasDatabase { get; init; } = true;

    /// <summary>Which route fields exist: <c>expression</c> and <c>priority</c> only under the expressions flavor.</summary>
    public RouterFlavor RouterFlavor { get; init; } = RouterFlavor.TraditionalCompatible;

    public static ValidationContext Of(GantryConfig config) =>
        new(config.Role) { HasDatabase = config.Database != DatabaseKind.Off, RouterFlavor = config.RouterFlavor };
}
