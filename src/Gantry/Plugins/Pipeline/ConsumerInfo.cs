namespace Gantry.Plugins.Pipeline;

/// <summary>A consumer as the proxy knows it: what authentication plugins identify and send upstream.</summary>
public sealed record ConsumerInfo(Guid Id, string? Username, string? CustomId);
