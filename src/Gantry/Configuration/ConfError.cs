namespace Gantry.Configuration;

/// <summary>
/// One problem found while loading the configuration. <see cref="ToString"/> gives the
/// line a user should read: the property, what is wrong with its value, and where it was set.
/// </summary>
/// <param name="Property">The property concerned, or null for a problem that belongs to no property (a malformed line, an unreadable file).</param>
/// <param name="Message">What is wrong, naming the offending value.</param>
/// <param name="Origin">Where the value came from ("/etc/gantry/gantry.conf line 12", "environment variable GANTRY_PG_PORT"), or null for a built-in default.</param>
public sealed record ConfError(string? Property, string Message, string? Origin = null)
{
    public override string ToString()
    {
        var text = Property is null ? Message : $"{Property}: {Message}";
        return Origin is null ? text : $"{text} ({Origin})";
    }
}
