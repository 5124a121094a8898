using System.Text.Json.Nodes;
using Gantry.Entities.Schema;

namespace Gantry.Declarative;

/// <summary>What loading a document gives: a configuration ready to write, or every error it has (never both).</summary>
public sealed record DeclarativeLoad(DeclarativeConfig? Config, IReadOnlyList<DeclarativeError> Errors);

/// <summary>
/// A loaded document: every entity flattened, referenced by id, validated and complete as it would be
/// stored, parents before children (by entity type in dependency order, then by id). A certificate's SNIs
/// are entities of their own here (its transient <c>snis</c> list is left unset).
/// </summary>
public sealed record DeclarativeConfig(IReadOnlyList<DeclaredEntity> Entities);

public sealed record DeclaredEntity(EntitySchema Schema, JsonObject Entity);

/// <summary>
/// One entity's problems, in the shape of an item of Kong's <c>flattened_errors</c>. A problem of the
/// document itself (it does not parse, <c>_format_version</c> is missing, a collection is unknown) has an
/// empty <see cref="EntityType"/>, and its field names the top-level key.
/// </summary>
public sealed record DeclarativeError(string EntityType, string? EntityName, string? EntityId, JsonArray? EntityTags, JsonObject? Entity, IReadOnlyList<DeclarativeFieldError> Errors)
{
    public bool IsDocumentError => EntityType.Length == 0;

    public static DeclarativeError Document(string? field, string message) =>
        new("", null, null, null, null, [new DeclarativeFieldError(field is null ? "entity" : "field", field, message)]);

    /// <summary>
    /// One line per problem, as the CLI prints them: <c>service 'svc-a': host: required field missing</c>,
    /// <c>route 'r1': must set one of …</c>, or <c>_format_version: …</c> for the document.
    /// </summary>
    public IEnumerable<string> Lines()
    {
        var subject = IsDocumentError ? "" : $"{EntityType} '{EntityName ?? EntityId ?? "?"}': ";
        foreach (var error in Errors)
            yield return error.Field is null ? subject + error.Message : $"{subject}{error.Field}: {error.Message}";
    }
}

/// <summary>A problem with one field (<c>field</c>) or with the entity as a whole (<c>entity</c>, no field).</summary>
public sealed record DeclarativeFieldError(string Type, string? Field, string Message);

/// <summary>How far an import is: entities written so far out of the document's total.</summary>
public readonly record struct ImportProgress(int Written, int Total);

/// <summary>Entities created and updated by an import, per entity type, in the order they were written.</summary>
public sealed record ImportSummary(IReadOnlyList<ImportCount> Counts)
{
    public int Created => Counts.Sum(c => c.Created);

    public int Updated => Counts.Sum(c => c.Updated);
}

public sealed record ImportCount(string EntityType, int Created, int Updated);
