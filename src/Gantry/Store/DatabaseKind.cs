namespace Gantry.Store;

/// <summary>The datastores Gantry can keep its configuration in.</summary>
public enum DatabaseKind
{
    Postgres,
    Sqlite,
}
