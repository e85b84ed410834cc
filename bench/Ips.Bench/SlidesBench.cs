using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Ips.Configuration;
using Ips.Data.Camelyon16;
using Ips.IO;
using Ips.Inference;
using Ips.Modeling;
using Ips.Patches;
using Ips.Selection;
using Ips.Slides;
using Ips.Slides.Tiling;
using Ips.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Ips.Bench;

/// <summary>The slides part of the report: one row per generated slide size.</summary>
public sealed record SlidesPart
{
    /// <summary>What was run on each slide.</summary>
    public string Setup { get; init; } = "";

    /// <summary>One row per slide size.</summary>
    public List<SlideRow> Rows { get; init; } = [];
}

/// <summary>Figures of one generated slide.</summary>
public sealed record SlideRow
{
    /// <summary>Level-0 side in pixels.</summary>
    public long Side { get; init; }

    /// <summary>Tiles of the grid examined.</summary>
    public long Examined { get; init; }

    /// <summary>Tissue tiles kept, N of the selection.</summary>
    public int Tiles { get; init; }

    /// <summary>Seconds to find the tissue tiles (Otsu and tiling).</summary>
    public double TilingSeconds { get; init; }

    /// <summary>Seconds of the IPS selection over the tiles, decoded from disk.</summary>
    public double SelectionSeconds { get; init; }

    /// <summary>Peak resident set of the fresh child process (VmHWM), both phases.</summary>
    public long PeakBytes { get; init; }

    /// <summary>Resident set once libtorch, the network and the slide are loaded, before any tile is read.</summary>
    public long BaselineBytes { get; init; }

    /// <summary>Peak resident set up to the end of tiling.</summary>
    public long TilingPeakBytes { get; init; }

    /// <summary>Peak resident set of the selection alone (the kernel's peak mark reset after tiling).</summary>
    public long SelectionPeakBytes { get; init; }

    /// <summary>Managed heap size after the selection, before any collection forced by the harness.</summary>
    public long ManagedHeapBytes { get; init; }

    /// <summary>Seconds to write the attention picture (thumbnail read from the slide) and the heat map TIFF, after the prediction.</summary>
    public double HeatMapSeconds { get; init; }

    /// <summary>Peak resident set while writing the picture and heat map (the kernel's peak mark reset before).</summary>
    public long HeatMapPeakBytes { get; init; }
}

/// <summary>
/// <c>ips bench --parts slides</c>: writes pyramidal JPEG TIFF slides of 10k, 40k and 100k pixels a side (mostly
/// glass with tissue-like regions; kept in the cache folder between runs), and in a fresh child process per slide
/// finds its tissue tiles and runs one IPS selection over all of them, streamed from disk. The target: the peak
/// at 100k is within 10 % of the peak at 10k.
/// </summary>
internal sealed class SlidesBench(BenchOptions options, TextWriter log)
{
    private const string Marker = "IPS_BENCH_SLIDE ";
    // Tiles small enough that the 10k slide has more than M + I of them (so every size runs full chunks) and the 100k
    // one can be encoded on a CPU in minutes.
    private const int Level = 2, OtsuLevel = 3, TileSize = 32, M = 100, I = 256;
    private const double TissueFraction = 0.08;
    private static readonly long[] Sides = [10_000, 40_000, 100_000];
    private static readonly long[] QuickSides = [10_000, 20_000];

    /// <summary>Where generated slides are kept: <c>$IPS_CACHE</c> or <c>~/.cache/ips</c>, folder <c>bench-slides</c>.</summary>
    internal static string CacheFolder() => Path.Combine(
        Environment.GetEnvironmentVariable("IPS_CACHE") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "ips"),
        "bench-slides");

    public SlidesPart Run()
    {
        var rows = new List<SlideRow>();
        foreach (var side in options.Quick ? QuickSides : Sides)
        {
            var path = Path.Combine(CacheFolder(), string.Create(CultureInfo.InvariantCulture, $"synthetic-{side}-v2.tif"));
            if (!File.Exists(path))
            {
                log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"slides: writing a {side} x {side} slide to {path}"));
                var clock = Stopwatch.StartNew();
                AtomicFile.Write(path, temporary => PyramidalTiffWriter.Write(temporary, Content(side), new SlideWriteOptions { SmallestLevelSize = 512 }));
                log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"slides: written in {clock.Elapsed.TotalSeconds:F0} s ({new FileInfo(path).Length >> 20} MiB)"));
            }
            log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"slides: {side} x {side}: tissue tiles and one IPS selection (child process)"));
            var row = RunChild(path) with { Side = side };
            log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"slides: {side} x {side}: {row.Tiles} tissue tiles of {row.Examined}, tiling {row.TilingSeconds:F1} s, selection {row.SelectionSeconds:F1} s, heat map {row.HeatMapSeconds:F1} s (peak {BenchTables.Bytes(row.HeatMapPeakBytes)}), peak {BenchTables.Bytes(row.PeakBytes)} (baseline {BenchTables.Bytes(row.BaselineBytes)}, tiling {BenchTables.Bytes(row.TilingPeakBytes)}, selection {BenchTables.Bytes(row.SelectionPeakBytes)})"));
            rows.Add(row);
        }
        return new SlidesPart
        {
            Setup = string.Create(CultureInfo.InvariantCulture,
                $"JPEG pyramidal TIFF, {TissueFraction:P0} tissue; Otsu at level {OtsuLevel}, tiles of {TileSize} px at level {Level} ({TileSize << Level} level-0 px); resnet18 2 blocks, D 128, M {M}, I {I}, tiles decoded on demand"),
            Rows = rows,
        };
    }

    /// <summary>The content of the slide of side <paramref name="side"/>: regions of about 2000 level-0 pixels radius.</summary>
    internal static SyntheticTissue Content(long side) => new(side, side, seed: 11, tissueFraction: TissueFraction, blobRadius: 2000);

    /// <summary>Whether <paramref name="spec"/> is a child spec of this part.</summary>
    public static bool IsChildSpec(string spec) => spec.StartsWith("slide;", StringComparison.Ordinal);

    /// <summary>The child side: tiles the slide, runs one selection and prints a result line.</summary>
    public static void RunChild(string spec, Device device, TextWriter output)
    {
        var path = spec["slide;".Length..];
        torch.manual_seed(0);
        using var net = new IpsNet(Config());
        net.to(device);
        using var slide = SlideOpener.Open(path);
        long baseline = ProcessMemory.CurrentResidentBytes();

        var clock = Stopwatch.StartNew();
        var options = new TilingOptions { Level = Level, OtsuLevel = OtsuLevel, TileSize = TileSize };
        var tiles = SlideTiler.Tile(slide, options, SlideTiler.Threshold(slide, OtsuLevel));
        double tiling = clock.Elapsed.TotalSeconds;
        long tilingPeak = ProcessMemory.PeakResidentBytes();
        // The selection's own peak: where the mark cannot be reset, the whole run's peak stands for both.
        ProcessMemory.ResetPeak();

        using var source = new SlideTileSource(slide, Level, TileSize, [.. Enumerable.Range(0, tiles.Count).Select(i => ((long)tiles.X[i], (long)tiles.Y[i]))]);
        clock.Restart();
        long[] indices;
        float[] scores;
        using (var scope = NewDisposeScope())
        using (no_grad())
        {
            using var selection = new IterativePatchSelector(net) { ReuseIdenticalPatches = false }.Select([source], device);
            var (_, attention) = net.ForwardWithAttention(selection.Patches, selection.PositionalEncoding);
            indices = selection.Indices[0].cpu().data<long>().ToArray();
            scores = attention.mean(new long[] { 1, 2 })[0].cpu().data<float>().ToArray();
        }
        double selectionSeconds = clock.Elapsed.TotalSeconds;
        long selectionPeak = ProcessMemory.PeakResidentBytes();

        // What predict --attention-dir adds on a slide: the framed picture over the thumbnail and the heat map TIFF.
        ProcessMemory.ResetPeak();
        clock.Restart();
        int side0 = TileSize << Level;
        PixelBox[] boxes = [.. indices.Select(i => new PixelBox(tiles.X[i], tiles.Y[i], side0, side0))];
        // Written to a scratch folder, not beside the cached slide.
        var scratch = Directory.CreateTempSubdirectory("ips-bench-heatmap-");
        SlideAttentionMap.Render(slide.ReadThumbnail(1024), boxes, scores, System.IO.Path.Combine(scratch.FullName, "slide.attention.png"),
            new AttentionLabels { Title = [System.IO.Path.GetFileName(path)] }, slide.MicronsPerPixel?.X);
        HeatMapTiff.Write(System.IO.Path.Combine(scratch.FullName, "slide.heatmap.tif"), slide.Levels[0].Width, slide.Levels[0].Height, slide.MicronsPerPixel?.X, boxes, scores, scores.Max());
        double heatMapSeconds = clock.Elapsed.TotalSeconds;
        long heatMapPeak = ProcessMemory.PeakResidentBytes();
        scratch.Delete(recursive: true);
        var row = new SlideRow
        {
            Examined = tiles.Grid.Count, Tiles = tiles.Count, TilingSeconds = tiling, SelectionSeconds = selectionSeconds,
            PeakBytes = Math.Max(tilingPeak, selectionPeak), BaselineBytes = baseline, TilingPeakBytes = tilingPeak,
            SelectionPeakBytes = selectionPeak, ManagedHeapBytes = GC.GetGCMemoryInfo().HeapSizeBytes,
            HeatMapSeconds = heatMapSeconds, HeatMapPeakBytes = heatMapPeak,
        };
        output.WriteLine(Marker + JsonSerializer.Serialize(row));
    }

    private static IpsConfig Config() => new()
    {
        Source = "bench (slides)", IsImage = true, EncType = "resnet18", NResBlocks = 2, NChanIn = 3, D = 128, H = 8, DK = 16, DV = 16,
        DInner = 512, NToken = 1, UsePos = false, Shuffle = false, M = M, I = I, B = 1, BSeq = 1,
        PatchSize = [TileSize, TileSize], PatchStride = [TileSize, TileSize],
        Tasks = [new TaskConfig { Key = "task0", Id = 0, Name = "task", ActFn = "sigmoid", Metric = "auc", NClass = 1 }],
    };

    private SlideRow RunChild(string path)
    {
        var start = options.Child.StartInfo("slide;" + path, options.Device, options.Threads);
        using var child = Process.Start(start) ?? throw new InvalidOperationException($"could not start {options.Child.FileName}.");
        var output = child.StandardOutput.ReadToEndAsync();
        var errors = child.StandardError.ReadToEndAsync();
        child.WaitForExit();
        var line = output.Result.Split('\n').Select(l => l.Trim()).LastOrDefault(l => l.StartsWith(Marker, StringComparison.Ordinal));
        return child.ExitCode == 0 && line is not null
            ? JsonSerializer.Deserialize<SlideRow>(line[Marker.Length..])!
            : throw new InvalidOperationException($"slide measurement of {path} failed (exit code {child.ExitCode}): {errors.Result.Trim()} {output.Result.Trim()}");
    }

    /// <summary>The part as a table, with the memory target.</summary>
    public static string Format(SlidesPart part)
    {
        var text = new StringBuilder();
        text.AppendLine(string.Create(CultureInfo.InvariantCulture, $"4. IPS on whole slides ({part.Setup}); peak = VmHWM of a fresh process"));
        text.Append(BenchTables.Table(
            ["slide", "tiles examined", "tissue tiles (N)", "tiling s", "selection s", "baseline", "tiling peak", "selection peak", "managed heap", "peak", "heat map s", "heat map peak"],
            [.. part.Rows.Select(r => new[]
            {
                string.Create(CultureInfo.InvariantCulture, $"{r.Side / 1000}k x {r.Side / 1000}k"), r.Examined.ToString(CultureInfo.InvariantCulture),
                r.Tiles.ToString(CultureInfo.InvariantCulture), r.TilingSeconds.ToString("F1", CultureInfo.InvariantCulture),
                r.SelectionSeconds.ToString("F1", CultureInfo.InvariantCulture), BenchTables.Bytes(r.BaselineBytes),
                BenchTables.Bytes(r.TilingPeakBytes), BenchTables.Bytes(r.SelectionPeakBytes), BenchTables.Bytes(r.ManagedHeapBytes),
                BenchTables.Bytes(r.PeakBytes), r.HeatMapSeconds.ToString("F1", CultureInfo.InvariantCulture), BenchTables.Bytes(r.HeatMapPeakBytes),
            })]));
        if (part.Rows.Count >= 2)
        {
            var (first, last) = (part.Rows[0], part.Rows[^1]);
            double ratio = (double)last.PeakBytes / first.PeakBytes;
            text.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"target: peak at {last.Side / 1000}k within 10 % of {first.Side / 1000}k: {(ratio <= 1.10 ? "met" : "MISSED")} ({ratio:F3}x)"));
        }
        return text.ToString();
    }
}
