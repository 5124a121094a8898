using System.Globalization;

namespace Gantry.Configuration;

/// <summary>
/// The definition of one configuration property: its name, type, default and limits.
/// The registry of all of them is <see cref="ConfProperties"/>.
/// </summary>
public sealed class ConfProperty
{
    public ConfProperty(string name, string section, ConfKind kind, string defaultValue, string description)
    {
        Name = name;
        Section = section;
        Kind = kind;
        Default = defaultValue;
        Description = description;
    }

    public string Name { get; }

    /// <summary>The heading the property is listed under in gantry.conf.default and the docs.</summary>
    public string Section { get; }

    public ConfKind Kind { get; }

    /// <summary>The default exactly as it would be written in a conf file; empty means unset.</summary>
    public string Default { get; }

    /// <summary>One or two sentences for users.</summary>
    public string Description { get; }

    /// <summary>Lower bound for <see cref="ConfKind.Integer"/> and <see cref="ConfKind.Number"/>.</summary>
    public double? Min { get; init; }

    /// <summary>When true, the value must be strictly greater than <see cref="Min"/>.</summary>
    public bool MinExclusive { get; init; }

    /// <summary>Upper bound (inclusive) for <see cref="ConfKind.Integer"/> and <see cref="ConfKind.Number"/>.</summary>
    public double? Max { get; init; }

    /// <summary>The accepted values of an <see cref="ConfKind.Enum"/>, or of each entry of a <see cref="ConfKind.List"/>.</summary>
    public IReadOnlyList<string> Allowed { get; init; } = [];

    /// <summary>The value is replaced by <c>******</c> wherever configuration is printed.</summary>
    public bool Secret { get; init; }

    /// <summary>For paths and lists: the keyword <c>off</c> (alone) disables the feature.</summary>
    public bool AllowsOff { get; init; }

    /// <summary>When this property is unset, its effective value is the one of this other property.</summary>
    public string? FallbackTo { get; init; }

    /// <summary>
    /// Extra validation applied after the kind's own checks pass; returns an error message
    /// (without the property name) or null.
    /// </summary>
    public Func<string, string?>? Check { get; init; }

    /// <summary>An optional property has an empty default, and an empty value means "not set".</summary>
    public bool IsOptional => Default.Length == 0;

    public override string ToString() => Name;

    /// <summary>Adds to <paramref name="problems"/> every reason <paramref name="value"/> is not acceptable.</summary>
    internal void Validate(string value, List<string> problems)
    {
        if (value.Length == 0)
        {
            if (!IsOptional)
            {
                problems.Add($"must not be empty (remove the setting to use the default '{Default}')");
            }
            return;
        }

        var before = problems.Count;
        switch (Kind)
        {
            case ConfKind.Boolean:
                if (!ConfValues.TryParseBoolean(value, out _))
                {
                    problems.Add($"expected on, off, true or false, got '{value}'");
                }
                break;
            case ConfKind.Integer:
                if (!long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer)
                    || integer > int.MaxValue || integer < int.MinValue || !InRange(integer))
                {
                    problems.Add($"expected an integer{DescribeRange()}, got '{value}'");
                }
                break;
            case ConfKind.Number:
                if (!ConfValues.TryParseNumber(value, out var number) || !InRange(number))
                {
                    problems.Add($"expected a number{DescribeRange()}, got '{value}'");
                }
                break;
            case ConfKind.Enum:
                if (!Allowed.Contains(value, StringComparer.Ordinal))
                {
                    problems.Add($"expected one of {string.Join(", ", Allowed)}, got '{value}'");
                }
                break;
            case ConfKind.List:
                ValidateList(value, problems);
                break;
            case ConfKind.ListenList:
                ListenAddress.ParseList(value, problems);
                break;
            case ConfKind.Path:
            case ConfKind.String:
                break;
        }

        if (problems.Count == before && Check?.Invoke(value) is { } extra)
        {
            problems.Add(extra);
        }
    }

    private void ValidateList(string value, List<string> problems)
    {
        var entries = ConfValues.SplitList(value);
        if (entries.Count == 0)
        {
            problems.Add($"expected a comma-separated list, got '{value}'");
            return;
        }
        if (entries.Contains("off", StringComparer.Ordinal))
        {
            if (!AllowsOff)
            {
                problems.Add("'off' is not accepted here");
            }
            else if (entries.Count > 1)
            {
                problems.Add($"'off' must be the only value, got '{value}'");
            }
            return;
        }
        if (Allowed.Count == 0)
        {
            return;
        }
        foreach (var entry in entries)
        {
            // Header names are case-insensitive in HTTP, and Kong lower-cases these entries too.
            if (!Allowed.Contains(entry, StringComparer.OrdinalIgnoreCase))
            {
                problems.Add($"unknown value '{entry}' (expected {string.Join(", ", Allowed)}{(AllowsOff ? " or off" : "")})");
            }
        }
    }

    private bool InRange(double value) =>
        (Min is not { } min || (MinExclusive ? value > min : value >= min))
        && (Max is not { } max || value <= max);

    private string DescribeRange() => (Min, Max) switch
    {
        ({ } min, { } max) => $" between {Format(min)} and {Format(max)}",
        ({ } min, null) => MinExclusive ? $" > {Format(min)}" : $" >= {Format(min)}",
        (null, { } max) => $" <= {Format(max)}",
        _ => "",
    };

    private static string Format(double value) => value.ToString(CultureInfo.InvariantCulture);
}
