using Gantry.Configuration;
using Gantry.Migrations;

namespace Gantry.TestHost;

/// <summary>Waits inside its step, so that a test can kill the process, or race another one, in the middle of it.</summary>
public sealed class DelayOperation(int milliseconds) : MigrationOperation
{
    public int Milliseconds { get; } = milliseconds;

    public override string Describe() => $"wait {Milliseconds} ms";

    public override IReadOnlyList<string> Statements(DatabaseKind kind) => [];

    public override OperationTraits Traits(DatabaseKind kind) => OperationTraits.NoLock;

    public override IReadOnlyList<MigrationOperation> Undo => [];

    public override Task ExecuteAsync(MigrationContext context, CancellationToken cancellationToken) =>
        Task.Delay(Milliseconds, cancellationToken);
}
