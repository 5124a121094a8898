using System.Text;

namespace Gantry.Configuration;

/// <summary>
/// Renders the registry as the user-facing reference: gantry.conf.default and the property table
/// of docs/configuration.md. Both files are generated from here so that they cannot disagree with
/// the code; tests compare the committed files with the registry.
/// </summary>
public static class ConfReference
{
    public const string TableBegin = "<!-- BEGIN generated property table: edit ConfProperties.cs, not this table -->";
    public const string TableEnd = "<!-- END generated property table -->";

    private const int Width = 78;

    /// <summary>The text of gantry.conf.default: every property commented out with its default.</summary>
    public static string RenderDefaultFile()
    {
        var text = new StringBuilder();
        text.Append("""
            # Gantry configuration file
            #
            # Each setting below is commented out and shows its built-in default. To
            # change one, copy this file to /etc/gantry/gantry.conf (or pass -c FILE),
            # remove the leading '#' of the setting and edit its value.
            #
            # Syntax: one 'name = value' per line. '#' starts a comment, unless written
            # '\#'. Booleans are on, off, true or false. An empty value means unset.
            # Any setting can also be given as the environment variable GANTRY_<NAME>
            # (upper case, e.g. GANTRY_PG_HOST), which wins over this file.
            # `gantry check` validates a file without starting the node.

            """);
        foreach (var section in ConfProperties.Sections)
        {
            text.Append('\n')
                .Append('#').Append('-', Width - 1).Append('\n')
                .Append("# ").Append(section.ToUpperInvariant()).Append('\n')
                .Append('#').Append('-', Width - 1).Append('\n');
            foreach (var property in ConfProperties.All.Where(p => p.Section == section))
            {
                text.Append('\n');
                foreach (var line in Wrap(property.Description, Width - 2))
                {
                    text.Append("# ").Append(line).Append('\n');
                }
                text.Append('#').Append(property.Name).Append(" =");
                if (property.Default.Length > 0)
                {
                    text.Append(' ').Append(property.Default);
                }
                text.Append('\n');
            }
        }
        return text.ToString();
    }

    /// <summary>The markdown table of all properties, between <see cref="TableBegin"/> and <see cref="TableEnd"/>.</summary>
    public static string RenderMarkdownTable()
    {
        var text = new StringBuilder();
        text.Append(TableBegin).Append('\n');
        foreach (var section in ConfProperties.Sections)
        {
            text.Append('\n').Append("### ").Append(section).Append("\n\n");
            text.Append("| Property | Default | Meaning |\n|---|---|---|\n");
            foreach (var property in ConfProperties.All.Where(p => p.Section == section))
            {
                var defaultCell = property.Default.Length > 0 ? $"`{property.Default}`" : "*unset*";
                text.Append($"| `{property.Name}` | {defaultCell} | {property.Description.Replace("|", "\\|")} |\n");
            }
        }
        text.Append('\n').Append(TableEnd).Append('\n');
        return text.ToString();
    }

    private static IEnumerable<string> Wrap(string text, int width)
    {
        var line = new StringBuilder();
        foreach (var word in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.Length > 0 && line.Length + 1 + word.Length > width)
            {
                yield return line.ToString();
                line.Clear();
            }
            if (line.Length > 0)
            {
                line.Append(' ');
            }
            line.Append(word);
        }
        if (line.Length > 0)
        {
            yield return line.ToString();
        }
    }
}
