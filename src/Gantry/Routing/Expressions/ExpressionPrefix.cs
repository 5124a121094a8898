namespace Gantry.Routing.Expressions;

/// <summary>
/// The path prefix an expression requires of every request it matches: the longest literal of an
/// <c>http.path ^=</c> or <c>http.path ==</c> predicate, or the literal start of an <c>http.path ~ "^…"</c> regex, that the whole expression needs (joined to it by
/// <c>&amp;&amp;</c> only, not lowered, not negated); empty when there is none, which indexes the route at
/// the root so every request tests it.
/// </summary>
public static class ExpressionPrefix
{
    public static string Of(ExpressionNode node) => node switch
    {
        AndNode and => Longer(Of(and.Left), Of(and.Right)),
        PredicateNode { Field.Source: FieldSource.Path, Lower: false, Operator: ExpressionOperator.Prefix or ExpressionOperator.Equals } p => p.Text!,
        // A regex anchored with '^' is the regex the traditional router runs for a '~' path, so its literal prefix is found the same way.
        PredicateNode { Field.Source: FieldSource.Path, Lower: false, Operator: ExpressionOperator.Regex, Text: ['^', ..] } p => PathRegex.LiteralPrefixOf(p.Text![1..]),
        _ => "",
    };

    private static string Longer(string a, string b) => a.Length >= b.Length ? a : b;
}
