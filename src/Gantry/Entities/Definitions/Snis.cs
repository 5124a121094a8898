using Gantry.Entities.Schema;
using static Gantry.Entities.Definitions.CommonFields;

namespace Gantry.Entities.Definitions;

/// <summary>SNIs: a server name and the certificate served for it ('*' names the default certificate).</summary>
public static class Snis
{
    public static EntitySchema Schema { get; } = new("snis",
    [
        Id(),
        CreatedAt(),
        UpdatedAt(),
        new Field("name", FieldKind.String) { Required = true, Unique = true, MinLength = 1, Check = SniNameError },
        Tags(),
        Foreign("certificate", "certificates", required: true),
    ])
    {
        Table = "snis",
        EndpointKey = "name",
        OnParentDelete = new Dictionary<string, ParentDelete> { ["certificate"] = ParentDelete.Cascade },
    };
}
