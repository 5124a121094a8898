using System.Net;
using System.Text.RegularExpressions;

namespace Gantry.Routing.Expressions;

/// <summary>The type of a field or a literal in Kong's expression language.</summary>
public enum ExpressionType
{
    String,
    Int,
    IpAddr,
    IpCidr,
}

public enum ExpressionOperator
{
    Equals,
    NotEquals,
    Regex,
    Prefix,
    Postfix,
    Greater,
    GreaterOrEqual,
    Less,
    LessOrEqual,
    In,
    NotIn,
    Contains,
}

/// <summary>A parsed, type-checked expression; immutable, so every request thread shares it.</summary>
public abstract class ExpressionNode;

public sealed class AndNode(ExpressionNode left, ExpressionNode right) : ExpressionNode
{
    public ExpressionNode Left { get; } = left;
    public ExpressionNode Right { get; } = right;
}

public sealed class OrNode(ExpressionNode left, ExpressionNode right) : ExpressionNode
{
    public ExpressionNode Left { get; } = left;
    public ExpressionNode Right { get; } = right;
}

public sealed class NotNode(ExpressionNode inner) : ExpressionNode
{
    public ExpressionNode Inner { get; } = inner;
}

/// <summary>One <c>field op literal</c> comparison; exactly one of the literal properties is set, by <see cref="LiteralType"/>.</summary>
public sealed class PredicateNode : ExpressionNode
{
    public required ExpressionField Field { get; init; }
    public required bool Lower { get; init; }
    /// <summary><c>any(field)</c>: one value of a repeated header or query argument suffices, instead of every value.</summary>
    public bool Any { get; init; }
    public required ExpressionOperator Operator { get; init; }
    public required ExpressionType LiteralType { get; init; }
    /// <summary>Offset of the predicate in the expression text, for messages.</summary>
    public required int Position { get; init; }
    public string? Text { get; init; }
    public long Int { get; init; }
    public IPAddress? Address { get; init; }
    public IPNetwork Network { get; init; }
    public Regex? Pattern { get; init; }
}
