namespace Gantry.Tests.Admin;

/// <summary>One schema rule as Kong answers it: what is posted where, and the status, <c>fields</c> and <c>message</c>.</summary>
/// <param name="Fields">The expected <c>fields</c> JSON for a 400; null for a success.</param>
/// <param name="Message">The expected <c>message</c> for a 400, when it is worth pinning (multi-violation order).</param>
public sealed record SchemaRule(string Path, string Body, int Status, string? Fields = null, string? Message = null)
{
    public const string Conditional = "failed conditional validation given value of field";
}
