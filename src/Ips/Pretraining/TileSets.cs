using System.Collections.Concurrent;
using System.Globalization;
using Ips.Imaging;
using Ips.Slides;
using Ips.Slides.Tiling;
using Ips.Training;
using static TorchSharp.torch;

namespace Ips.Pretraining;

/// <summary>A collection of RGB tiles for pre-training, decoded one at a time on demand (thread-safe).</summary>
public interface ITileSet : IDisposable
{
    /// <summary>Number of tiles.</summary>
    int Count { get; }

    /// <summary>Tile <paramref name="index"/> as float32 <c>[3, H, W]</c> in [0, 1] on the CPU; the caller owns it.</summary>
    Tensor Load(int index);

    /// <summary>Where tile <paramref name="index"/> comes from (a file, or a slide and position), for messages.</summary>
    string Describe(int index);
}

/// <summary>The PNG/JPEG/TIFF tiles under a directory (recursively, in ordinal path order), read with <see cref="ImageFile"/>.</summary>
public sealed class ImageDirectoryTiles : ITileSet
{
    private static readonly string[] Extensions = [".png", ".jpg", ".jpeg", ".tif", ".tiff"];
    private readonly string[] _files;

    /// <summary>Lists the tiles under <paramref name="directory"/>.</summary>
    /// <exception cref="DirectoryNotFoundException">The directory does not exist.</exception>
    public ImageDirectoryTiles(string directory)
    {
        if (!Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"--tiles {directory}: no such directory.");
        }
        Root = directory;
        _files = [.. Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories)
            .Where(file => Extensions.Contains(Path.GetExtension(file).ToLowerInvariant()))
            .Order(StringComparer.Ordinal)];
    }

    /// <summary>The directory listed.</summary>
    public string Root { get; }

    /// <inheritdoc />
    public int Count => _files.Length;

    /// <inheritdoc />
    public Tensor Load(int index) => ImageFile.Load(_files[index], channels: 3);

    /// <inheritdoc />
    public string Describe(int index) => _files[index];

    /// <inheritdoc />
    public void Dispose()
    {
        // Files are opened per tile; nothing stays open.
    }
}

/// <summary>Several tile sets read as one, in the order given.</summary>
public sealed class ConcatenatedTiles : ITileSet
{
    private readonly ITileSet[] _sets;
    private readonly int[] _starts;

    /// <summary>Joins <paramref name="sets"/>.</summary>
    public ConcatenatedTiles(IEnumerable<ITileSet> sets)
    {
        ArgumentNullException.ThrowIfNull(sets);
        _sets = [.. sets];
        _starts = new int[_sets.Length + 1];
        for (var i = 0; i < _sets.Length; i++)
        {
            _starts[i + 1] = checked(_starts[i] + _sets[i].Count);
        }
    }

    /// <inheritdoc />
    public int Count => _starts[^1];

    /// <inheritdoc />
    public Tensor Load(int index) => Locate(index, (set, local) => set.Load(local));

    /// <inheritdoc />
    public string Describe(int index) => Locate(index, (set, local) => set.Describe(local));

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var set in _sets)
        {
            set.Dispose();
        }
    }

    private T Locate<T>(int index, Func<ITileSet, int, T> read)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        var set = Array.BinarySearch(_starts, index);
        // An exact hit may land on an empty set's start; the tile belongs to the last set starting there.
        set = set >= 0 ? Array.LastIndexOf(_starts, _starts[set], _sets.Length - 1) : ~set - 1;
        return read(_sets[set], index - _starts[set]);
    }
}

/// <summary>
/// Decodes the batches of one pass over a tile set on background threads (<c>n_worker</c> at a time) and hands them
/// over through a bounded queue, so decoding overlaps with the training step; the pattern of
/// <see cref="BatchPipeline"/>, for tiles. Each batch is <c>[B, 3, H, W]</c> in [0, 1] on the CPU, owned by the consumer.
/// </summary>
public sealed class TileBatchLoader : IDisposable
{
    private readonly BlockingCollection<Tensor> _queue;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _producer;

    /// <summary>Starts decoding <paramref name="order"/> in consecutive batches of <paramref name="batchSize"/> (a short last batch is dropped).</summary>
    public TileBatchLoader(ITileSet tiles, IReadOnlyList<int> order, int batchSize, int workers, int capacity = 2)
    {
        ArgumentNullException.ThrowIfNull(tiles);
        ArgumentNullException.ThrowIfNull(order);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        _queue = new BlockingCollection<Tensor>(Math.Max(1, capacity));
        BatchCount = order.Count / batchSize;
        _producer = Task.Run(() => Produce(tiles, order, batchSize, Math.Max(1, workers)));
    }

    /// <summary>Number of batches the pass yields.</summary>
    public int BatchCount { get; }

    /// <summary>The batches in order; a decoding failure of the producer surfaces here.</summary>
    public IEnumerable<Tensor> Batches()
    {
        foreach (var batch in _queue.GetConsumingEnumerable())
        {
            yield return batch;
        }
        _producer.GetAwaiter().GetResult();
    }

    private void Produce(ITileSet tiles, IReadOnlyList<int> order, int batchSize, int workers)
    {
        try
        {
            var options = new ParallelOptions { MaxDegreeOfParallelism = workers, CancellationToken = _stop.Token };
            for (var b = 0; b < BatchCount; b++)
            {
                var decoded = new Tensor[batchSize];
                try
                {
                    Parallel.For(0, batchSize, options, i => decoded[i] = tiles.Load(order[b * batchSize + i]));
                    CheckSizes(tiles, order, b * batchSize, decoded);
                    _queue.Add(stack(decoded), _stop.Token);
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
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            // The consumer stopped early (Ctrl-C or an error); nothing more to decode.
        }
        finally
        {
            _queue.CompleteAdding();
        }
    }

    private static void CheckSizes(ITileSet tiles, IReadOnlyList<int> order, int start, Tensor[] decoded)
    {
        for (var i = 0; i < decoded.Length; i++)
        {
            if (decoded[i].dim() != 3 || decoded[i].shape[0] != 3 || !decoded[i].shape.SequenceEqual(decoded[0].shape))
            {
                throw new InvalidDataException(
                    $"tile {tiles.Describe(order[start + i])} is [{string.Join(", ", decoded[i].shape)}] but " +
                    $"{tiles.Describe(order[start])} is [{string.Join(", ", decoded[0].shape)}]; pre-training needs RGB tiles of one size.");
            }
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _stop.Cancel();
        try
        {
            _producer.Wait();
        }
        catch (AggregateException)
        {
            // A producer failure was already reported through Batches(), or the pass was abandoned.
        }
        while (_queue.TryTake(out var batch))
        {
            batch.Dispose();
        }
        _queue.Dispose();
        _stop.Dispose();
    }
}

/// <summary>
/// The tiles of one slide that a tile coordinates file lists (the CLAM/TRIDENT layout of <see cref="TileCoordsFile"/>:
/// level-0 corners, <c>patch_level</c>, <c>patch_size</c>), read from the slide region by region on demand.
/// </summary>
public sealed class SlideTiles : ITileSet
{
    private readonly ISlide _slide;
    private readonly TileCoords _coords;

    /// <summary>Reads <paramref name="coordsPath"/> and opens <paramref name="slidePath"/> (TIFF reader or OpenSlide).</summary>
    public SlideTiles(string coordsPath, string slidePath)
    {
        _coords = TileCoordsFile.Read(coordsPath);
        _slide = SlideOpener.Open(slidePath);
        if (_coords.Info.PatchLevel >= _slide.Levels.Count)
        {
            _slide.Dispose();
            throw new InvalidDataException(
                $"{coordsPath}: patch_level {_coords.Info.PatchLevel} but {slidePath} has {_slide.Levels.Count} levels; is it the slide these tiles were cut from?");
        }
    }

    /// <inheritdoc />
    public int Count => _coords.Count;

    /// <inheritdoc />
    public Tensor Load(int index)
    {
        var size = _coords.Info.PatchSize;
        var rgb = _slide.ReadRegion(_coords.Info.PatchLevel, _coords.Coords[index, 0], _coords.Coords[index, 1], size, size);
        using var scope = NewDisposeScope();
        return tensor(rgb, [size, size, 3]).permute(2, 0, 1).to(ScalarType.Float32).div(255).MoveToOuterDisposeScope(); // [3, S, S]
    }

    /// <inheritdoc />
    public string Describe(int index) => string.Create(CultureInfo.InvariantCulture,
        $"{_slide.Path} tile {index} at ({_coords.Coords[index, 0]}, {_coords.Coords[index, 1]})");

    /// <inheritdoc />
    public void Dispose() => _slide.Dispose();
}

/// <summary>Opens the <c>--tiles</c> inputs of pre-training as one tile set.</summary>
public static class TileInputs
{
    /// <summary>
    /// One <see cref="ITileSet"/> over <paramref name="inputs"/>, each a directory of PNG/JPEG/TIFF tiles, a tile
    /// coordinates <c>.h5</c> file, or a directory of them (as <c>ips slides tile</c> writes; a directory with any
    /// <c>.h5</c> file counts as one, its images being quality-control pictures). A coordinates file
    /// <c>NAME.h5</c> reads the slide <c>NAME.*</c> (any slide extension) in <paramref name="slides"/> or a folder below it. Throws a
    /// message naming the input when one does not exist, holds no tiles, or its slide is not found.
    /// </summary>
    public static ITileSet Open(IReadOnlyList<string> inputs, string? slides = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (inputs.Count == 0)
        {
            throw new ArgumentException("no tiles given: pass --tiles DIR (a directory of PNG/JPEG tiles, or of tile coordinates .h5 files with --slides DIR) or set 'tiles' in the config.");
        }
        var sets = new List<ITileSet>();
        try
        {
            foreach (var input in inputs)
            {
                sets.AddRange(OpenOne(input, slides));
            }
        }
        catch
        {
            foreach (var set in sets)
            {
                set.Dispose();
            }
            throw;
        }
        return sets.Count == 1 ? sets[0] : new ConcatenatedTiles(sets);
    }

    private static IEnumerable<ITileSet> OpenOne(string input, string? slides)
    {
        if (File.Exists(input))
        {
            if (!IsCoords(input))
            {
                throw new ArgumentException($"--tiles {input}: expected a directory of PNG/JPEG/TIFF tiles or a tile coordinates .h5 file.");
            }
            yield return Slide(input, slides);
            yield break;
        }
        if (!Directory.Exists(input))
        {
            throw new FileNotFoundException($"--tiles {input}: no such directory or file.", input);
        }
        // A folder of coordinates files (from `ips slides tile`) also holds quality-control PNGs, which are not tiles.
        var coords = Directory.EnumerateFiles(input).Where(IsCoords).Order(StringComparer.Ordinal).ToList();
        foreach (var file in coords)
        {
            yield return Slide(file, slides);
        }
        if (coords.Count > 0)
        {
            yield break;
        }
        var images = new ImageDirectoryTiles(input);
        if (images.Count == 0)
        {
            throw new InvalidDataException($"--tiles {input}: no PNG/JPEG/TIFF tiles and no tile coordinates .h5 files there.");
        }
        yield return images;
    }

    private static bool IsCoords(string path) => Path.GetExtension(path).Equals(".h5", StringComparison.OrdinalIgnoreCase);

    private static SlideTiles Slide(string coords, string? slides)
    {
        var name = Path.GetFileNameWithoutExtension(coords);
        if (slides is null)
        {
            throw new ArgumentException($"--tiles {coords}: a tile coordinates file needs --slides DIR, the folder holding {name}.tif (or another slide format).");
        }
        if (!Directory.Exists(slides))
        {
            throw new DirectoryNotFoundException($"--slides {slides}: no such directory.");
        }
        // Searched recursively: CAMELYON16 keeps its slides in training/normal, training/tumor and testing/images.
        var slide = Directory.EnumerateFiles(slides, "*", SearchOption.AllDirectories)
            .Where(file => Path.GetFileNameWithoutExtension(file) == name && SlideOpener.IsSlidePath(file))
            .Order(StringComparer.Ordinal)
            .FirstOrDefault()
            ?? throw new FileNotFoundException($"--tiles {coords}: no slide named {name} (with a slide extension: {string.Join(", ", SlideOpener.SlideExtensions)}) in --slides {slides}.");
        return new SlideTiles(coords, slide);
    }
}
