namespace Gantry.Configuration;

/// <summary>The <c>database</c> property.</summary>
public enum DatabaseKind
{
    Postgres,
    Sqlite,
    /// <summary>No database: entities live in memory, loaded from a declarative file or pushed by a control plane.</summary>
    Off,
}

/// <summary>The <c>role</c> property.</summary>
public enum NodeRole
{
    Traditional,
    ControlPlane,
    DataPlane,
}

/// <summary>The <c>router_flavor</c> property.</summary>
public enum RouterFlavor
{
    TraditionalCompatible,
    Traditional,
    Expressions,
}
