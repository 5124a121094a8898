using System.Text.RegularExpressions;
using Microsoft.Extensions.Primitives;

namespace Gantry.Routing.Expressions;

/// <summary>
/// Runs a parsed expression against a request, with Kong's semantics: a predicate on a field the request
/// lacks is false (whatever the operator, <c>!=</c> and <c>not in</c> included); on a field with several
/// values (a repeated header or query argument) every value must satisfy it, or one under <c>any()</c>. A <c>http.path</c> predicate
/// that matched (==, ^= or ~) records the matched text, which strip_path removes, and a path regex its captures;
/// what a branch recorded is dropped when the branch fails, so only the branch that matched speaks.
/// </summary>
public static class ExpressionEvaluator
{
    /// <summary>What the matching branch learnt of the path.</summary>
    public struct PathMatch
    {
        public string? Matched;
        public Match? Regex;
    }

    public static bool Evaluate<THeaders>(ExpressionNode node, ExpressionRequest<THeaders> request, ref PathMatch path)
        where THeaders : IRequestHeaders
    {
        switch (node)
        {
            case PredicateNode predicate:
                return EvaluatePredicate(predicate, request, ref path);
            case AndNode and:
            {
                var saved = path;
                if (Evaluate(and.Left, request, ref path) && Evaluate(and.Right, request, ref path))
                    return true;
                path = saved;
                return false;
            }
            case OrNode or:
            {
                var saved = path;
                if (Evaluate(or.Left, request, ref path))
                    return true;
                path = saved;
                if (Evaluate(or.Right, request, ref path))
                    return true;
                path = saved;
                return false;
            }
            case NotNode not:
            {
                var saved = path;
                var result = !Evaluate(not.Inner, request, ref path);
                path = saved;
                return result;
            }
            default:
                return false;
        }
    }

    private static bool EvaluatePredicate<THeaders>(PredicateNode p, ExpressionRequest<THeaders> request, ref PathMatch path)
        where THeaders : IRequestHeaders
    {
        var field = p.Field;
        switch (field.Type)
        {
            case ExpressionType.Int:
            {
                int value;
                if (field.Source == FieldSource.PathSegmentCount)
                {
                    value = request.Segments.Length;
                }
                else
                {
                    value = field.Source == FieldSource.SourcePort ? request.SourcePort : request.DestinationPort;
                    if (value <= 0)
                        return false;
                }
                return p.Operator switch
                {
                    ExpressionOperator.Equals => value == p.Int,
                    ExpressionOperator.NotEquals => value != p.Int,
                    ExpressionOperator.Greater => value > p.Int,
                    ExpressionOperator.GreaterOrEqual => value >= p.Int,
                    ExpressionOperator.Less => value < p.Int,
                    ExpressionOperator.LessOrEqual => value <= p.Int,
                    _ => false,
                };
            }
            case ExpressionType.IpAddr:
            {
                var address = field.Source == FieldSource.SourceIp ? request.SourceIp : request.DestinationIp;
                if (address is null)
                    return false;
                if (address.IsIPv4MappedToIPv6)
                    address = address.MapToIPv4();
                return p.Operator switch
                {
                    ExpressionOperator.Equals => address.Equals(p.Address),
                    ExpressionOperator.NotEquals => !address.Equals(p.Address),
                    ExpressionOperator.In => p.Network.Contains(address),
                    ExpressionOperator.NotIn => address.AddressFamily == p.Network.BaseAddress.AddressFamily && !p.Network.Contains(address),
                    _ => false,
                };
            }
        }

        var values = field.Source switch
        {
            FieldSource.Method => new StringValues(request.Method),
            FieldSource.Host => new StringValues(request.Host),
            FieldSource.Path => new StringValues(request.Path),
            FieldSource.Protocol => new StringValues(request.Protocol),
            FieldSource.Sni => request.Sni is null ? StringValues.Empty : new StringValues(request.Sni),
            FieldSource.Header => request.Headers.Get(field.Key!),
            FieldSource.Query => request.QueryValues(field.Key!),
            FieldSource.PathSegments => request.SegmentRange(field.First, field.Last) is { } segments ? new StringValues(segments) : StringValues.Empty,
            _ => StringValues.Empty,
        };
        if (values.Count == 0)
            return false;
        Match? regexMatch = null;
        // Without any(), every value must pass until one fails; with it, none has passed until one does.
        var satisfied = !p.Any;
        for (var i = 0; i < values.Count; i++)
        {
            var value = values[i] ?? "";
            if (p.Lower)
                value = value.ToLowerInvariant();
            var text = p.Text!;
            var ok = p.Operator switch
            {
                ExpressionOperator.Equals => value == text,
                ExpressionOperator.NotEquals => value != text,
                ExpressionOperator.Prefix => value.StartsWith(text, StringComparison.Ordinal),
                ExpressionOperator.Postfix => value.EndsWith(text, StringComparison.Ordinal),
                ExpressionOperator.Contains => value.Contains(text, StringComparison.Ordinal),
                ExpressionOperator.Regex => (regexMatch = RouterRegex.Match(p.Pattern!, value)) is not null,
                _ => false,
            };
            if (ok == p.Any)
            {
                satisfied = ok;
                break;
            }
        }
        if (!satisfied)
            return false;
        if (field.Source == FieldSource.Path)
        {
            switch (p.Operator)
            {
                case ExpressionOperator.Equals:
                case ExpressionOperator.Prefix:
                    path.Matched = p.Lower ? request.Path[..p.Text!.Length] : p.Text;
                    path.Regex = null;
                    break;
                case ExpressionOperator.Regex:
                    path.Matched = regexMatch!.Value;
                    path.Regex = regexMatch;
                    break;
            }
        }
        return true;
    }
}
