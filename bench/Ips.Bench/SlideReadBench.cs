using System.Diagnostics;
using System.Globalization;
using System.Text;
using Ips.Data.Camelyon16;
using Ips.IO;
using Ips.Native;
using Ips.Slides;

namespace Ips.Bench;

/// <summary>The slide-read part of the report: tiles per second of each reader, on one thread and on all.</summary>
public sealed record SlideReadPart
{
    /// <summary>The slide and the tiles read.</summary>
    public string Setup { get; init; } = "";

    /// <summary>Why the openslide-python rows are missing, when they are.</summary>
    public string? PythonSkipped { get; init; }

    /// <summary>One row per reader and thread count.</summary>
    public List<SlideReadRow> Rows { get; init; } = [];
}

/// <summary>One reader at one thread count.</summary>
public sealed record SlideReadRow
{
    /// <summary><c>tiff</c> (managed), <c>openslide</c> (ours, P/Invoke) or <c>openslide-python</c>.</summary>
    public string Reader { get; init; } = "";

    /// <summary>Threads reading at once.</summary>
    public int Threads { get; init; }

    /// <summary>Tiles read.</summary>
    public int Tiles { get; init; }

    /// <summary>Wall seconds for all of them.</summary>
    public double Seconds { get; init; }

    /// <summary>Tiles per second.</summary>
    public double TilesPerSecond => Seconds > 0 ? Tiles / Seconds : 0;
}

/// <summary>
/// <c>ips bench --parts slide-read</c>: how fast 256-pixel tiles come off a slide, the limit of feature extraction once
/// the encoder runs on a GPU. Writes a 16k x 16k JPEG pyramidal TIFF with 256-pixel stored tiles (mostly tissue, so
/// nearly every stored tile is its own JPEG; kept in the cache folder), then reads every 256-pixel tile of level 0
/// once, in row-major order, with the managed TIFF reader, with our OpenSlide binding, and with openslide-python
/// (bench/slide_read.py under Debian's python3, when python3-openslide is installed), each on one thread and on all
/// of the machine's. A fresh reader per measurement, so no tile is served from an earlier run's cache; the file is
/// read once first so every reader finds it in the page cache.
/// </summary>
internal sealed class SlideReadBench(BenchOptions options, TextWriter log)
{
    private const int Tile = 256;
    private const string Python = "/usr/bin/python3";
    private const string Marker = "IPS_SLIDE_READ ";

    public SlideReadPart Run()
    {
        long side = options.Quick ? 4096 : 16_384;
        var path = Path.Combine(SlidesBench.CacheFolder(), string.Create(CultureInfo.InvariantCulture, $"slide-read-{side}-v1.tif"));
        if (!File.Exists(path))
        {
            log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"slide-read: writing a {side} x {side} JPEG slide to {path}"));
            var clock = Stopwatch.StartNew();
            var content = new SyntheticTissue(side, side, seed: 5, tissueFraction: 0.7, blobRadius: side / 3.0);
            AtomicFile.Write(path, temporary => PyramidalTiffWriter.Write(temporary, content, new SlideWriteOptions { TileSize = Tile, SmallestLevelSize = 1024 }));
            log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"slide-read: written in {clock.Elapsed.TotalSeconds:F0} s ({new FileInfo(path).Length >> 20} MiB)"));
        }
        WarmPageCache(path);
        var corners = new List<(long X, long Y)>();
        for (long y = 0; y < side; y += Tile)
        {
            for (long x = 0; x < side; x += Tile)
            {
                corners.Add((x, y));
            }
        }
        int all = Environment.ProcessorCount;
        var rows = new List<SlideReadRow>();
        foreach (var (reader, kind) in new[] { ("tiff", SlideReaderKind.Tiff), ("openslide", SlideReaderKind.OpenSlide) })
        {
            foreach (int threads in all > 1 ? new[] { 1, all } : [1])
            {
                using var slide = SlideOpener.Open(path, kind);
                rows.Add(Measure(reader, threads, corners.Count, () => Read(slide, corners, threads)));
            }
        }
        string? skipped = null;
        foreach (int threads in all > 1 ? new[] { 1, all } : [1])
        {
            var (row, why) = RunPython(path, side, threads);
            if (row is null)
            {
                skipped = why;
                break;
            }
            log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"slide-read: openslide-python, {threads} thread(s): {row.TilesPerSecond:F0} tiles/s"));
            rows.Add(row);
        }
        return new SlideReadPart
        {
            Setup = string.Create(CultureInfo.InvariantCulture,
                $"{side} x {side} JPEG (quality 80, YCbCr 2x2) pyramidal TIFF, stored tiles of {Tile}; all {corners.Count} tiles of {Tile} px at level 0 read once, row by row, as RGB (openslide-python: read_region's RGBA image)"),
            PythonSkipped = skipped,
            Rows = rows,
        };
    }

    private SlideReadRow Measure(string reader, int threads, int tiles, Action read)
    {
        var clock = Stopwatch.StartNew();
        read();
        var row = new SlideReadRow { Reader = reader, Threads = threads, Tiles = tiles, Seconds = clock.Elapsed.TotalSeconds };
        log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"slide-read: {reader}, {threads} thread(s): {row.TilesPerSecond:F0} tiles/s"));
        return row;
    }

    // Each thread takes the next tile in order, so neighbouring threads read neighbouring stored tiles, as a tile source does.
    private static void Read(ISlide slide, List<(long X, long Y)> corners, int threads)
    {
        long checksum = 0;
        Parallel.For(0, corners.Count, new ParallelOptions { MaxDegreeOfParallelism = threads }, () => 0L, (i, _, sum) =>
        {
            var rgb = slide.ReadRegion(0, corners[i].X, corners[i].Y, Tile, Tile);
            return sum + rgb[rgb.Length / 2];
        }, sum => Interlocked.Add(ref checksum, sum));
        // The sum keeps the reads from being optimised away; a tile of nothing would read as zero bytes.
        if (checksum == 0)
        {
            throw new InvalidDataException("slide-read: every tile read as black; the slide is broken");
        }
    }

    private static void WarmPageCache(string path)
    {
        using var file = File.OpenRead(path);
        var buffer = new byte[1 << 20];
        while (file.Read(buffer) > 0)
        {
        }
    }

    private static (SlideReadRow? Row, string Why) RunPython(string slidePath, long side, int threads)
    {
        if (!File.Exists(Python))
        {
            return (null, $"{Python} not found (apt-get install python3-openslide)");
        }
        // The repository holds configs/mnist.yml and bench/slide_read.py.
        var script = Path.Combine(Path.GetDirectoryName(Path.GetDirectoryName(TimeBench.FindConfig()))!, "bench", "slide_read.py");
        var start = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { script, slidePath, side.ToString(CultureInfo.InvariantCulture), Tile.ToString(CultureInfo.InvariantCulture), threads.ToString(CultureInfo.InvariantCulture) })
        {
            start.ArgumentList.Add(argument);
        }
        // The same allocator as ours where the harness set one, so the comparison is of the readers.
        foreach (var (name, value) in ProcessAllocator.EquivalentEnvironment())
        {
            start.Environment[name] = value;
        }
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {Python}");
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            var text = error.Result.Trim();
            return (null, text.Contains("No module named 'openslide'", StringComparison.Ordinal)
                ? "python3-openslide is not installed (apt-get install python3-openslide)"
                : $"bench/slide_read.py exited {process.ExitCode}: {text.Split('\n')[^1]}");
        }
        var line = output.Split('\n').FirstOrDefault(l => l.StartsWith(Marker, StringComparison.Ordinal))
            ?? throw new InvalidDataException($"bench/slide_read.py printed no '{Marker.Trim()}' line:\n{output}");
        var fields = line[Marker.Length..].Split(' ');
        return (new SlideReadRow
        {
            Reader = "openslide-python",
            Threads = threads,
            Tiles = int.Parse(fields[0], CultureInfo.InvariantCulture),
            Seconds = double.Parse(fields[1], CultureInfo.InvariantCulture),
        }, "");
    }

    /// <summary>The part as a table with one row per reader and thread count.</summary>
    public static string Format(SlideReadPart part)
    {
        var text = new StringBuilder();
        text.AppendLine(string.Create(CultureInfo.InvariantCulture, $"6. Reading tiles ({part.Setup})"));
        if (part.PythonSkipped is { } skipped)
        {
            text.AppendLine("openslide-python rows skipped: " + skipped);
        }
        text.Append(BenchTables.Table(
            ["reader", "threads", "tiles", "seconds", "tiles/s"],
            [.. part.Rows.Select(r => new[]
            {
                r.Reader, r.Threads.ToString(CultureInfo.InvariantCulture), r.Tiles.ToString(CultureInfo.InvariantCulture),
                r.Seconds.ToString("F2", CultureInfo.InvariantCulture), r.TilesPerSecond.ToString("F0", CultureInfo.InvariantCulture),
            })]));
        return text.ToString();
    }
}
