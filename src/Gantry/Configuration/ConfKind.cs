namespace Gantry.Configuration;

/// <summary>How the text of a property is interpreted and validated.</summary>
public enum ConfKind
{
    String,
    Boolean,
    Integer,
    Number,
    Enum,
    /// <summary>Comma-separated values; <see cref="ConfProperty.Allowed"/> restricts the entries when not empty.</summary>
    List,
    /// <summary>Comma-separated <see cref="ListenAddress"/> entries, or <c>off</c>.</summary>
    ListenList,
    /// <summary>A file system path; relative paths are resolved under <c>prefix</c>.</summary>
    Path,
}
