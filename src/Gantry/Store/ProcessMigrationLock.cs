namespace Gantry.Store;

/// <summary>The migration mutex of a database that only this process can reach (SQLite in memory).</summary>
public sealed class ProcessMigrationLock(SemaphoreSlim semaphore, string owner) : IMigrationLock
{
    private bool _held;

    public async Task<bool> TryAcquireAsync(CancellationToken cancellationToken = default)
    {
        if (!_held)
            _held = await semaphore.WaitAsync(0, cancellationToken);
        return _held;
    }

    public Task<string?> DescribeHolderAsync(CancellationToken cancellationToken = default) =>
        Task.FromResult<string?>(semaphore.CurrentCount == 0 ? owner : null);

    public Task EnsureHeldAsync(CancellationToken cancellationToken = default) =>
        _held ? Task.CompletedTask : throw new InvalidOperationException("the migration lock is not held");

    public Task ReleaseAsync()
    {
        if (_held)
        {
            _held = false;
            semaphore.Release();
        }
        return Task.CompletedTask;
    }

    public ValueTask DisposeAsync() => new(ReleaseAsync());
}
