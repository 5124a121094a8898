namespace Gantry.Plugins.Pipeline;

/// <summary>A write-only pass-through stream over a response body that counts the bytes written.</summary>
internal sealed class CountingStream(Stream inner) : WriteOnlyStream(inner)
{
    public long Written { get; private set; }

    public override void Write(byte[] buffer, int offset, int count)
    {
        Inner.Write(buffer, offset, count);
        Written += count;
    }

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        Inner.Write(buffer);
        Written += buffer.Length;
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        await Inner.WriteAsync(buffer, cancellationToken);
        Written += buffer.Length;
    }
}
