using System.Globalization;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;

namespace Gantry.Routing.Expressions;

/// <summary>
/// Parses and type-checks Kong's router expression language (the ATC grammar) in one pass, so an
/// expression that parses here is one the router can run. Hand-written rather than generated: the
/// grammar is a dozen rules, and a recursive descent gives each error its exact offset and the
/// tokens that would have been accepted there.
/// <para>
/// <c>&amp;&amp;</c> binds tighter than <c>||</c>, both left-associative; <c>!</c> applies only to a
/// parenthesised expression, as in Kong. The type rules and their messages are Kong's: a predicate's
/// literal has the field's type (except <c>~</c>, whose literal is a regex, and <c>in</c>/<c>not in</c>,
/// an IP field against a CIDR block); <c>lower()</c> applies to string fields only.
/// </para>
/// </summary>
public sealed class ExpressionParser
{
    private const string Operators = "an operator (==, !=, ~, ^=, =^, >, >=, <, <=, in, not in, contains)";

    private static readonly string[] StreamProtocols = ["tcp", "tls", "udp", "tls_passthrough"];

    private readonly string _text;
    private readonly bool _stream;
    private int _pos;

    private ExpressionParser(string text, bool stream)
    {
        _text = text;
        _stream = stream;
    }

    /// <summary>Whether routes with these protocols match connections (Kong's stream schema) rather than HTTP requests.</summary>
    public static bool IsStream(IEnumerable<string?>? protocols) => protocols?.FirstOrDefault() is { } first && StreamProtocols.Contains(first);

    /// <param name="expression">The expression text.</param>
    /// <param name="stream">Read it against Kong's stream schema, which has no http.* fields.</param>
    /// <exception cref="ExpressionException">The expression is invalid; the message says where and why.</exception>
    public static ExpressionNode Parse(string expression, bool stream = false)
    {
        var parser = new ExpressionParser(expression, stream);
        parser.SkipSpace();
        if (parser.AtEnd)
            throw parser.Error("expected a predicate or '(', found the end of the expression");
        var node = parser.ParseOr();
        parser.SkipSpace();
        if (!parser.AtEnd)
            throw parser.Error($"expected '&&', '||' or the end of the expression, found {parser.Found()}");
        return node;
    }

    /// <summary>Why the expression is invalid for a route with these protocols (HTTP when none), or null when it is valid.</summary>
    public static string? ErrorOf(string expression, IEnumerable<string?>? protocols = null)
    {
        try
        {
            Parse(expression, IsStream(protocols));
            return null;
        }
        catch (ExpressionException e)
        {
            return e.Message;
        }
    }

    private bool AtEnd => _pos >= _text.Length;

    private ExpressionNode ParseOr()
    {
        var left = ParseAnd();
        while (TryToken("||"))
            left = new OrNode(left, ParseAnd());
        return left;
    }

    private ExpressionNode ParseAnd()
    {
        var left = ParseTerm();
        while (TryToken("&&"))
            left = new AndNode(left, ParseTerm());
        return left;
    }

    private ExpressionNode ParseTerm()
    {
        SkipSpace();
        if (TryToken("!"))
        {
            SkipSpace();
            if (!TryToken("("))
                throw Error($"expected '(' after '!' (negation applies to a parenthesised expression), found {Found()}");
            return new NotNode(ParseParenthesised());
        }
        if (TryToken("("))
            return ParseParenthesised();
        return ParsePredicate();
    }

    private ExpressionNode ParseParenthesised()
    {
        var inner = ParseOr();
        SkipSpace();
        if (!TryToken(")"))
            throw Error($"expected '&&', '||' or ')', found {Found()}");
        return inner;
    }

    private ExpressionNode ParsePredicate()
    {
        SkipSpace();
        var start = _pos;
        var (field, lower, any) = ParseLhs("a field name (such as http.path) or '('");
        SkipSpace();
        var op = ParseOperator();
        SkipSpace();
        var literalPosition = _pos;
        var predicate = ParseLiteral(field, lower, any, op, start);
        Check(predicate, literalPosition);
        return predicate;
    }

    /// <summary>
    /// A field, possibly inside transformations: <c>lower(…)</c>, <c>any(…)</c>, nested in either order as the ATC grammar allows.
    /// </summary>
    private (ExpressionField Field, bool Lower, bool Any) ParseLhs(string expected)
    {
        SkipSpace();
        var start = _pos;
        var name = ParseIdent(expected);
        if (!TryToken("("))
        {
            var field = ExpressionField.Resolve(name, out var illFormed);
            if (_stream && field?.Name.StartsWith("http.", StringComparison.Ordinal) == true)
                field = null;
            else if (illFormed)
                throw new ExpressionException("illformed http.path.segments.* field", _text, start);
            return (field ?? throw new ExpressionException($"Unknown LHS field '{name}'", _text, start), false, false);
        }
        if (name is not ("lower" or "any"))
            throw new ExpressionException($"unknown transformation '{name}'; expected lower or any", _text, start);
        var inner = ParseLhs("a field name");
        SkipSpace();
        if (!TryToken(")"))
            throw Error($"expected ')', found {Found()}");
        return (inner.Field, inner.Lower || name == "lower", inner.Any || name == "any");
    }

    private string ParseIdent(string expected)
    {
        SkipSpace();
        var start = _pos;
        if (AtEnd || !char.IsAsciiLetter(_text[_pos]))
            throw Error($"expected {expected}, found {Found()}");
        while (!AtEnd && (char.IsAsciiLetterOrDigit(_text[_pos]) || _text[_pos] is '_' or '.'))
            _pos++;
        return _text[start.._pos];
    }

    private ExpressionOperator ParseOperator()
    {
        // Longest first, so that ">=" is not read as ">" and "not in" not as a field.
        if (TryToken("==")) return ExpressionOperator.Equals;
        if (TryToken("!=")) return ExpressionOperator.NotEquals;
        if (TryToken("^=")) return ExpressionOperator.Prefix;
        if (TryToken("=^")) return ExpressionOperator.Postfix;
        if (TryToken(">=")) return ExpressionOperator.GreaterOrEqual;
        if (TryToken("<=")) return ExpressionOperator.LessOrEqual;
        if (TryToken(">")) return ExpressionOperator.Greater;
        if (TryToken("<")) return ExpressionOperator.Less;
        if (TryToken("~")) return ExpressionOperator.Regex;
        if (TryWord("in")) return ExpressionOperator.In;
        if (TryWord("contains")) return ExpressionOperator.Contains;
        var start = _pos;
        if (TryWord("not"))
        {
            SkipSpace();
            if (TryWord("in"))
                return ExpressionOperator.NotIn;
            throw Error($"expected 'in' after 'not', found {Found()}");
        }
        _pos = start;
        throw Error($"expected {Operators}, found {Found()}");
    }

    private PredicateNode ParseLiteral(ExpressionField field, bool lower, bool any, ExpressionOperator op, int position)
    {
        var literalStart = _pos;
        if (!AtEnd && (_text[_pos] == '"' || (_text[_pos] == 'r' && _pos + 1 < _text.Length && _text[_pos + 1] == '#')))
        {
            var text = ParseString();
            Regex? pattern = null;
            if (op == ExpressionOperator.Regex)
            {
                try
                {
                    pattern = RouterRegex.Create(text, RegexOptions.None);
                }
                catch (ArgumentException e)
                {
                    throw new ExpressionException($"invalid regex '{text}': {e.Message}", _text, literalStart);
                }
            }
            return new PredicateNode
            {
                Field = field, Lower = lower, Any = any, Operator = op, LiteralType = ExpressionType.String, Position = position, Text = text, Pattern = pattern,
            };
        }

        // IP addresses, CIDR blocks and integers share their first characters; read the whole token, then classify it.
        while (!AtEnd && (char.IsAsciiHexDigit(_text[_pos]) || _text[_pos] is '.' or ':' or '/' or '-' or 'x' or 'X'))
            _pos++;
        var token = _text[literalStart.._pos];
        if (token.Length == 0)
            throw Error($"expected a string (\"…\" or r#\"…\"#), an IP address, a CIDR block or an integer, found {Found()}");
        if (!char.IsAsciiHexDigit(token[0]) && token[0] is not ('-' or ':'))
            throw new ExpressionException($"expected a string (\"…\" or r#\"…\"#), an IP address, a CIDR block or an integer, found '{token}'", _text, literalStart);
        if (token.Contains('/'))
        {
            if (IPNetwork.TryParse(token, out var network) && !token.StartsWith('-'))
                return new PredicateNode
                {
                    Field = field, Lower = lower, Any = any, Operator = op, LiteralType = ExpressionType.IpCidr, Position = position, Network = network,
                };
            throw new ExpressionException($"invalid CIDR block '{token}'", _text, literalStart);
        }
        if (token.Contains('.') || token.Contains(':'))
        {
            if (IPAddress.TryParse(token, out var address) && !token.StartsWith('-'))
                return new PredicateNode
                {
                    Field = field, Lower = lower, Any = any, Operator = op, LiteralType = ExpressionType.IpAddr, Position = position, Address = address,
                };
            throw new ExpressionException($"invalid IP address '{token}'", _text, literalStart);
        }
        if (!char.IsAsciiDigit(token[0]) && token[0] != '-')
            throw new ExpressionException($"expected a string (\"…\" or r#\"…\"#), an IP address, a CIDR block or an integer, found '{token}'", _text, literalStart);
        if (ParseInt(token) is { } value)
            return new PredicateNode { Field = field, Lower = lower, Any = any, Operator = op, LiteralType = ExpressionType.Int, Position = position, Int = value };
        throw new ExpressionException($"invalid integer '{token}' (decimal, 0x hexadecimal or 0-prefixed octal)", _text, literalStart);
    }

    /// <summary>Kong's integer literals: optional '-', then decimal, <c>0x</c> hexadecimal or <c>0</c>-prefixed octal; 64-bit.</summary>
    private static long? ParseInt(string token)
    {
        var negative = token.StartsWith('-');
        var digits = negative ? token[1..] : token;
        if (digits.Length == 0)
            return null;
        try
        {
            long magnitude;
            if (digits.StartsWith("0x", StringComparison.Ordinal))
            {
                if (!ulong.TryParse(digits.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var hex))
                    return null;
                magnitude = checked((long)hex);
            }
            else if (digits.Length > 1 && digits[0] == '0')
            {
                magnitude = 0;
                foreach (var c in digits.AsSpan(1))
                {
                    if (c is < '0' or > '7')
                        return null;
                    magnitude = checked(magnitude * 8 + (c - '0'));
                }
            }
            else
            {
                if (!long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out magnitude))
                    return null;
            }
            return negative ? -magnitude : magnitude;
        }
        catch (Exception e) when (e is OverflowException)
        {
            return null;
        }
    }

    private string ParseString()
    {
        var start = _pos;
        if (_text[_pos] == 'r')
        {
            // r#"…"#: no escapes, ends at the first "#.
            _pos += 2;
            if (AtEnd || _text[_pos] != '"')
                throw Error($"expected '\"' after 'r#' (a raw string is r#\"…\"#), found {Found()}");
            var end = _text.IndexOf("\"#", _pos + 1, StringComparison.Ordinal);
            if (end < 0)
                throw new ExpressionException("unterminated raw string; expected '\"#'", _text, start);
            var raw = _text[(_pos + 1)..end];
            _pos = end + 2;
            return raw;
        }
        _pos++;
        var value = new StringBuilder();
        while (true)
        {
            if (AtEnd)
                throw new ExpressionException("unterminated string; expected '\"'", _text, start);
            var c = _text[_pos];
            if (c == '"')
            {
                _pos++;
                return value.ToString();
            }
            if (c == '\\')
            {
                var escaped = _pos + 1 < _text.Length ? _text[_pos + 1] : '\0';
                value.Append(escaped switch
                {
                    '"' => '"',
                    '\\' => '\\',
                    'n' => '\n',
                    'r' => '\r',
                    't' => '\t',
                    _ => throw Error("invalid escape sequence; expected one of \\\" \\\\ \\n \\r \\t (or a raw string r#\"…\"#)"),
                });
                _pos += 2;
                continue;
            }
            value.Append(c);
            _pos++;
        }
    }

    /// <summary>Kong's type rules, in Kong's order and words.</summary>
    private void Check(PredicateNode p, int literalPosition)
    {
        var type = p.Field.Type;
        if (p.Operator is not (ExpressionOperator.Regex or ExpressionOperator.In or ExpressionOperator.NotIn) && type != p.LiteralType)
            throw new ExpressionException($"Type mismatch between the LHS and RHS values of predicate ('{p.Field.Name}' is {Describe(type)}, the value is {Describe(p.LiteralType)})",
                _text, literalPosition);
        if (p.Lower && type != ExpressionType.String)
            throw new ExpressionException("lower-case transformation function only supported with String type fields", _text, p.Position);
        var error = p.Operator switch
        {
            ExpressionOperator.Regex when type != ExpressionType.String || p.LiteralType != ExpressionType.String
                => "Regex operators only supports string operands",
            ExpressionOperator.Prefix or ExpressionOperator.Postfix when p.LiteralType != ExpressionType.String
                => "Regex/Prefix/Postfix operators only supports string operands",
            ExpressionOperator.Greater or ExpressionOperator.GreaterOrEqual or ExpressionOperator.Less or ExpressionOperator.LessOrEqual
                when p.LiteralType != ExpressionType.Int
                => "Greater/GreaterOrEqual/Lesser/LesserOrEqual operators only supports integer operands",
            ExpressionOperator.In or ExpressionOperator.NotIn when type != ExpressionType.IpAddr || p.LiteralType != ExpressionType.IpCidr
                => "In/NotIn operators only supports IP in CIDR",
            ExpressionOperator.Contains when p.LiteralType != ExpressionType.String
                => "Contains operator only supports string operands",
            _ => null,
        };
        if (error is not null)
            throw new ExpressionException(error, _text, p.Position);
    }

    private static string Describe(ExpressionType type) => type switch
    {
        ExpressionType.String => "a string",
        ExpressionType.Int => "an integer",
        ExpressionType.IpAddr => "an IP address",
        _ => "a CIDR block",
    };

    private void SkipSpace()
    {
        while (!AtEnd && _text[_pos] is ' ' or '\t' or '\r' or '\n')
            _pos++;
    }

    private bool TryToken(string token)
    {
        SkipSpace();
        if (string.CompareOrdinal(_text, _pos, token, 0, token.Length) != 0)
            return false;
        _pos += token.Length;
        return true;
    }

    /// <summary>A keyword operator, which must not run on into a following identifier ("inx").</summary>
    private bool TryWord(string word)
    {
        SkipSpace();
        var end = _pos + word.Length;
        if (string.CompareOrdinal(_text, _pos, word, 0, word.Length) != 0
            || (end < _text.Length && (char.IsAsciiLetterOrDigit(_text[end]) || _text[end] is '_' or '.')))
            return false;
        _pos = end;
        return true;
    }

    private ExpressionException Error(string reason) => new(reason, _text, _pos);

    private string Found()
    {
        if (AtEnd)
            return "the end of the expression";
        var end = _pos;
        while (end < _text.Length && end - _pos < 12 && !char.IsWhiteSpace(_text[end]))
            end++;
        return $"'{_text[_pos..Math.Max(end, _pos + 1)]}'";
    }
}
