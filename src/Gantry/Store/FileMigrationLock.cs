namespace Gantry.Store;

/// <summary>
/// The SQLite migration mutex: an exclusive lock on a file beside the database. .NET takes it with
/// flock(2) on Unix, so the kernel drops it when the holder's process ends, however it ends.
/// The holder writes who it is into a companion file, since the locked file cannot be read by others.
/// </summary>
public sealed class FileMigrationLock(string path, string owner) : IMigrationLock
{
    private readonly string _ownerPath = path + ".owner";
    private FileStream? _stream;

    public Task<bool> TryAcquireAsync(CancellationToken cancellationToken = default)
    {
        if (_stream is not null)
            return Task.FromResult(true);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        try
        {
            _stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e) when (e is not (DirectoryNotFoundException or PathTooLongException))
        {
            // The file is locked by another process (flock said EWOULDBLOCK).
            return Task.FromResult(false);
        }
        File.WriteAllText(_ownerPath, $"pid {Environment.ProcessId} ('{owner}') since {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm:ss}Z");
        return Task.FromResult(true);
    }

    public Task<string?> DescribeHolderAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            return Task.FromResult<string?>(File.Exists(_ownerPath) ? File.ReadAllText(_ownerPath).Trim() : "another process (it left no description)");
        }
        catch (IOException)
        {
            return Task.FromResult<string?>("another process");
        }
    }

    public Task EnsureHeldAsync(CancellationToken cancellationToken = default) =>
        _stream is null ? throw new InvalidOperationException("the migration lock is not held") : Task.CompletedTask;

    public Task ReleaseAsync()
    {
        if (_stream is null)
            return Task.CompletedTask;
        try
        {
            File.Delete(_ownerPath);
        }
        catch (IOException)
        {
            // The next holder overwrites it.
        }
        _stream.Dispose();
        _stream = null;
        return Task.CompletedTask;
    }

    public ValueTask DisposeAsync() => new(ReleaseAsync());
}
