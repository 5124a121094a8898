namespace Gantry.Entities.Schema;

/// <summary>
/// Case folding of ASCII letters only, the folding that PostgreSQL's lower() under the "C" collation and
/// SQLite's lower() apply: values folded here and values folded by the database compare equal.
/// </summary>
public static class AsciiCase
{
    public static string Lower(string value)
    {
        var first = value.AsSpan().IndexOfAnyInRange('A', 'Z');
        if (first < 0)
            return value;
        return string.Create(value.Length, (value, first), static (span, state) =>
        {
            state.value.AsSpan().CopyTo(span);
            for (var i = state.first; i < span.Length; i++)
            {
                if (span[i] is >= 'A' and <= 'Z')
                    span[i] = (char)(span[i] + 32);
            }
        });
    }
}
