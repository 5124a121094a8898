namespace Gantry.Routing.Expressions;

/// <summary>
/// An expression that does not parse or does not type-check. <see cref="Position"/> is the 0-based
/// offset of the fault; the message says where (line and column, 1-based) and what was expected.
/// </summary>
public sealed class ExpressionException(string reason, string expression, int position)
    : Exception(Describe(reason, expression, position))
{
    public string Reason { get; } = reason;
    public int Position { get; } = position;

    private static string Describe(string reason, string expression, int position)
    {
        var line = 1;
        var lineStart = 0;
        for (var i = 0; i < position && i < expression.Length; i++)
        {
            if (expression[i] == '\n')
            {
                line++;
                lineStart = i + 1;
            }
        }
        return $"{reason} (at line {line}, column {position - lineStart + 1})";
    }
}
