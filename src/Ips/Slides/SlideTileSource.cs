using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Ips.Patches;
using static TorchSharp.torch;

namespace Ips.Slides;

/// <summary>
/// The tiles of a slide as a patch source (docs/design.md section 6): tile <c>i</c> is the
/// <see cref="TileSize"/> x <see cref="TileSize"/> tile whose top-left corner is <c>Coordinates[i]</c> in level-0 pixels
/// (the CLAM/TRIDENT <c>coords</c> convention), read as <see cref="Sampling"/> says: a region of a level, resized when
/// the tiles are at a resolution between levels. <see cref="Read"/> and
/// <see cref="Gather"/> decode only the tiles asked for, several at once, straight into the returned tensor, so IPS
/// over a slide needs memory for one chunk of tiles and the reader's bounded tile cache, whatever the slide's size.
/// </summary>
public sealed class SlideTileSource : IPatchSource
{
    private readonly (long X, long Y)[] _coordinates;
    private readonly bool _ownsSlide;
    private bool _disposed;

    /// <summary>
    /// A source over the tiles of <paramref name="slide"/> at <paramref name="level"/> with level-0 corners
    /// <paramref name="coordinates"/>. With <paramref name="ownsSlide"/> the source disposes the slide.
    /// </summary>
    public SlideTileSource(ISlide slide, int level, int tileSize, IReadOnlyList<(long X, long Y)> coordinates, bool ownsSlide = false)
        : this(slide, TileSampling.AtLevel(level, tileSize), coordinates, ownsSlide)
    {
    }

    /// <summary>
    /// A source over the tiles of <paramref name="slide"/> read as <paramref name="sampling"/> says, with level-0
    /// corners <paramref name="coordinates"/>. With <paramref name="ownsSlide"/> the source disposes the slide.
    /// </summary>
    public SlideTileSource(ISlide slide, TileSampling sampling, IReadOnlyList<(long X, long Y)> coordinates, bool ownsSlide = false)
    {
        ArgumentNullException.ThrowIfNull(slide);
        ArgumentNullException.ThrowIfNull(sampling);
        ArgumentNullException.ThrowIfNull(coordinates);
        if (sampling.Level < 0 || sampling.Level >= slide.Levels.Count)
        {
            throw new ArgumentOutOfRangeException(nameof(sampling), $"{slide.Path}: level {sampling.Level} is outside 0 .. {slide.Levels.Count - 1}");
        }
        ArgumentOutOfRangeException.ThrowIfLessThan(sampling.TileSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(sampling.RegionSize, 1);
        Slide = slide;
        Sampling = sampling;
        _coordinates = [.. coordinates];
        _ownsSlide = ownsSlide;
        PatchShape = [3, sampling.TileSize, sampling.TileSize];
    }

    /// <summary>The slide read.</summary>
    public ISlide Slide { get; }

    /// <summary>How each tile is read.</summary>
    public TileSampling Sampling { get; }

    /// <summary>The level tiles are read at.</summary>
    public int Level => Sampling.Level;

    /// <summary>Tile width and height in pixels.</summary>
    public int TileSize => Sampling.TileSize;

    /// <summary>Level-0 top-left corner of each tile.</summary>
    public IReadOnlyList<(long X, long Y)> Coordinates => _coordinates;

    /// <summary>How many tiles are decoded at once (default: the processor count).</summary>
    public int Parallelism { get; init; } = Environment.ProcessorCount;

    /// <inheritdoc />
    public int Count => _coordinates.Length;

    /// <inheritdoc />
    public long[] PatchShape { get; }

    /// <inheritdoc />
    public Device Device => CPU;

    /// <inheritdoc />
    public Tensor Read(int start, int count)
    {
        if (start < 0 || count < 0 || start > Count - count)
        {
            throw new ArgumentOutOfRangeException(nameof(start), $"tiles {start} .. {start + count - 1} are outside 0 .. {Count - 1}");
        }
        var indices = new long[count];
        for (int i = 0; i < count; i++)
        {
            indices[i] = start + i;
        }
        return Decode(indices);
    }

    /// <inheritdoc />
    public Tensor Gather(ReadOnlySpan<long> indices)
    {
        foreach (long index in indices)
        {
            if (index < 0 || index >= Count)
            {
                throw new ArgumentOutOfRangeException(nameof(indices), $"tile index {index} is outside 0 .. {Count - 1}");
            }
        }
        return Decode(indices.ToArray());
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        if (_ownsSlide)
        {
            Slide.Dispose();
        }
    }

    // Each tile is read as RGB bytes and written as planes scaled to [0, 1] into its slot of the result.
    private unsafe Tensor Decode(long[] indices)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        int size = TileSize, plane = size * size;
        var result = empty([indices.Length, 3, size, size], dtype: ScalarType.Float32); // [k, 3, ts, ts]
        try
        {
            // The tensor's storage is native memory, so its address stays put while the tiles are written into it.
            float* data = (float*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(result.bytes));
            Parallel.For(0, indices.Length, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, Parallelism) }, k =>
            {
                var (x, y) = _coordinates[indices[k]];
                var rgb = Sampling.Read(Slide, x, y);
                var tile = new Span<float>(data + (long)k * 3 * plane, 3 * plane);
                for (int p = 0; p < plane; p++)
                {
                    tile[p] = rgb[p * 3] / 255f;
                    tile[plane + p] = rgb[p * 3 + 1] / 255f;
                    tile[2 * plane + p] = rgb[p * 3 + 2] / 255f;
                }
            });
        }
        catch (AggregateException error) when (error.InnerExceptions.Count > 0)
        {
            // Parallel.For wraps what a tile read threw; the first reason (a damaged tile's InvalidDataException
            // naming the slide) is what the caller and the CLI's one-line message need, not the wrapper.
            result.Dispose();
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(error.InnerExceptions[0]).Throw();
            throw;
        }
        catch
        {
            result.Dispose();
            throw;
        }
        return result;
    }
}
