using Gantry.Tests.Support;
using System.Text.RegularExpressions;
using Gantry.Configuration;

namespace Gantry.Tests.Configuration;

/// <summary>
/// gantry.conf.default and docs/configuration.md must describe exactly the properties of the registry.
/// To refresh both after changing ConfProperties.cs, run the tests once with GANTRY_REGENERATE_CONF_DOCS=1.
/// </summary>
public sealed partial class ReferenceFilesTests
{
    private const string DefaultFile = "gantry.conf.default";
    private const string DocsFile = "docs/configuration.md";

    public ReferenceFilesTests()
    {
        if (Environment.GetEnvironmentVariable("GANTRY_REGENERATE_CONF_DOCS") == "1")
        {
            Regenerate();
        }
    }

    [Fact]
    public void Default_file_lists_every_property_with_its_default_in_registry_order()
    {
        var text = File.ReadAllText(RepositoryFiles.PathOf(DefaultFile));
        var listed = CommentedSetting().Matches(text).Select(m => (Name: m.Groups[1].Value, Default: m.Groups[2].Value.Trim())).ToList();

        AssertSameProperties(listed, DefaultFile);
    }

    [Fact]
    public void Default_file_uncommented_loads_without_errors_and_equals_the_defaults()
    {
        var text = File.ReadAllText(RepositoryFiles.PathOf(DefaultFile));
        var uncommented = CommentedSetting().Replace(text, m => m.Value[1..]);

        var result = ConfLoader.LoadText(uncommented);

        Assert.Empty(result.Errors);
        Assert.Empty(result.Warnings);
        Assert.All(ConfProperties.All, p => Assert.Equal(ConfSource.File, result.Config!.SourceOf(p.Name)));
    }

    [Fact]
    public void Docs_table_lists_every_property_with_its_default_and_description()
    {
        var text = File.ReadAllText(RepositoryFiles.PathOf(DocsFile));
        var rows = TableRow().Matches(text)
            .Select(m => (Name: m.Groups[1].Value, Default: m.Groups[2].Value == "*unset*" ? "" : m.Groups[2].Value.Trim('`'), Meaning: m.Groups[3].Value))
            .ToList();

        AssertSameProperties(rows.Select(r => (r.Name, r.Default)).ToList(), DocsFile);
        foreach (var row in rows)
        {
            Assert.True(ConfProperties.Find(row.Name)!.Description == row.Meaning.Replace("\\|", "|"),
                $"{DocsFile}: the meaning of {row.Name} differs from its description in ConfProperties");
        }
    }

    [Fact]
    public void Docs_explain_precedence_syntax_and_environment_naming()
    {
        var text = File.ReadAllText(RepositoryFiles.PathOf(DocsFile));

        Assert.Contains(ConfLoader.DefaultFilePath, text);
        Assert.Contains("GANTRY_PG_PORT", text);
        Assert.Contains("--prefix", text);
        Assert.Contains("\\#", text);
    }

    private static void AssertSameProperties(List<(string Name, string Default)> listed, string file)
    {
        var registry = ConfProperties.All.Select(p => p.Name).ToList();
        var missing = registry.Except(listed.Select(l => l.Name)).ToList();
        var extra = listed.Select(l => l.Name).Except(registry).ToList();
        Assert.True(missing.Count == 0, $"{file} lacks: {string.Join(", ", missing)}");
        Assert.True(extra.Count == 0, $"{file} lists properties the registry does not have: {string.Join(", ", extra)}");
        Assert.Equal(registry, listed.Select(l => l.Name).ToList());
        foreach (var (name, listedDefault) in listed)
        {
            var expected = ConfProperties.Find(name)!.Default;
            Assert.True(expected == listedDefault, $"{file}: {name} shows default '{listedDefault}' but the registry has '{expected}'");
        }
    }

    private static void Regenerate()
    {
        File.WriteAllText(RepositoryFiles.PathOf(DefaultFile), ConfReference.RenderDefaultFile());
        var docsPath = RepositoryFiles.PathOf(DocsFile);
        var docs = File.ReadAllText(docsPath);
        var begin = docs.IndexOf(ConfReference.TableBegin, StringComparison.Ordinal);
        var end = docs.IndexOf(ConfReference.TableEnd, StringComparison.Ordinal);
        if (begin < 0 || end < begin)
        {
            throw new InvalidOperationException($"{DocsFile} lacks the generated-table markers");
        }
        var afterEnd = docs.IndexOf('\n', end) + 1;
        File.WriteAllText(docsPath, docs[..begin] + ConfReference.RenderMarkdownTable() + docs[afterEnd..]);
    }

    // A setting line is '#name =' at the very start of a line; description lines are '# text'.
    [GeneratedRegex(@"^#([a-z][a-z0-9_]*) =(.*)$", RegexOptions.Multiline)]
    private static partial Regex CommentedSetting();

    [GeneratedRegex(@"^\| `([a-z][a-z0-9_]*)` \| (`[^`]*`|\*unset\*) \| (.*) \|$", RegexOptions.Multiline)]
    private static partial Regex TableRow();
}
