using Ips.Patches;
using Ips.Slides.TileSets;
using static TorchSharp.torch;

namespace Ips.Features;

/// <summary>
/// The tiles of a tile set (a slide's kept tiles, <see cref="SlideTiles"/>) as an image patch source: a read decodes
/// only the tiles it asks for, on up to <paramref name="workers"/> threads, so a slide is read from disk chunk by chunk.
/// </summary>
/// <param name="tiles">The tiles; owned and disposed.</param>
/// <param name="workers">Threads decoding the tiles of one read.</param>
public sealed class TileSetPatchSource(ITileSet tiles, int workers = 2) : IPatchSource
{
    private long[]? _shape;

    /// <inheritdoc />
    public int Count => tiles.Count;

    /// <inheritdoc />
    public long[] PatchShape
    {
        get
        {
            if (_shape is null)
            {
                using var first = tiles.Load(0);
                _shape = first.shape;
            }
            return _shape;
        }
    }

    /// <inheritdoc />
    public Device Device => CPU;

    /// <inheritdoc />
    public Tensor Read(int start, int count)
    {
        if (start < 0 || count < 0 || start > Count - count)
        {
            throw new ArgumentOutOfRangeException(nameof(start), $"tiles {start} .. {start + count - 1} are outside 0 .. {Count - 1}");
        }
        return Decode(Enumerable.Range(start, count).Select(i => (long)i).ToArray());
    }

    /// <inheritdoc />
    public Tensor Gather(ReadOnlySpan<long> indices) => Decode(indices.ToArray());

    /// <inheritdoc />
    public void Dispose() => tiles.Dispose();

    private Tensor Decode(long[] indices)
    {
        var decoded = new Tensor[indices.Length];
        try
        {
            Parallel.For(0, indices.Length, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, workers) },
                i => decoded[i] = tiles.Load(checked((int)indices[i])));
            return decoded.Length == 0 ? empty([0, .. PatchShape]) : stack(decoded); // [k, 3, S, S]
        }
        finally
        {
            foreach (var tile in decoded)
            {
                tile?.Dispose();
            }
        }
    }
}
