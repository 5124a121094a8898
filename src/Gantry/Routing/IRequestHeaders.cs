using Microsoft.Extensions.Primitives;

namespace Gantry.Routing;

/// <summary>
/// Read access to request headers by name, case-insensitively. The router takes it as a
/// generic struct parameter so that an adapter over Kestrel's header dictionary is neither
/// boxed nor allocated per request.
/// </summary>
public interface IRequestHeaders
{
    /// <summary>All values of the header (one per header line), or empty when absent.</summary>
    StringValues Get(string name);
}

/// <summary>For requests (and tests) with no headers to offer.</summary>
public readonly struct NoRequestHeaders : IRequestHeaders
{
    public StringValues Get(string name) => StringValues.Empty;
}
