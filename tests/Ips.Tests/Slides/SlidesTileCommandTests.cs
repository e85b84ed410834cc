using Ips.Cli;
using Ips.Data.Camelyon16;
using Ips.Slides;
using Ips.Slides.Tiling;
using Ips.Slides.Tissue;
using Spectre.Console;

namespace Ips.Tests.Slides;

[CollectionDefinition(nameof(ConsoleOutput), DisableParallelization = true)]
public sealed class ConsoleOutput;

/// <summary>
/// Slide content with exactly known tissue: purple rectangles on neutral glass (stain grey 0), so the Otsu threshold
/// is 0 and the tissue mask is the rectangles, whatever the level.
/// </summary>
internal sealed class RectangleContent(long width, long height, params (long X0, long X1, long Y0, long Y1)[] rectangles) : ISlideContent
{
    public static readonly (byte R, byte G, byte B) Tissue = (104, 58, 152);

    public long Width => width;

    public long Height => height;

    public (byte R, byte G, byte B) Background => (240, 240, 240);

    public bool IsTissue(double x, double y) => x < width && y < height && rectangles.Any(r => x >= r.X0 && x < r.X1 && y >= r.Y0 && y < r.Y1);

    public bool IsBackground(double x0, double y0, double w, double h) =>
        !rectangles.Any(r => r.X0 < x0 + w && r.X1 > x0 && r.Y0 < y0 + h && r.Y1 > y0);

    public void Render(double downsample, long levelX, long levelY, int w, int h, Span<byte> rgb)
    {
        for (int j = 0; j < h; j++)
        {
            for (int i = 0; i < w; i++)
            {
                var (r, g, b) = IsTissue((levelX + i + 0.5) * downsample, (levelY + j + 0.5) * downsample) ? Tissue : Background;
                (rgb[3 * (j * w + i)], rgb[3 * (j * w + i) + 1], rgb[3 * (j * w + i) + 2]) = (r, g, b);
            }
        }
    }
}

[Collection(nameof(ConsoleOutput))]
public sealed class SlidesTileCommandTests : IDisposable
{
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    private static readonly RectangleContent Content = new(1500, 1100, (100, 700, 200, 500), (1000, 1013, 900, 913), (1300, 1314, 130, 142));

    private string WriteSlide(string name, RectangleContent? content = null)
    {
        var path = _files.File(Path.Combine("slides", name));
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        PyramidalTiffWriter.Write(path, content ?? Content, new SlideWriteOptions { Compression = SlideCompression.Lzw, TileSize = 128, SmallestLevelSize = 400 });
        return path;
    }

    // Runs the CLI with its console output captured.
    internal static (int Exit, string Output) Ips(params string[] args)
    {
        var writer = new StringWriter();
        var previous = AnsiConsole.Console;
        AnsiConsole.Console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(writer), Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors });
        // Wide enough that no message is wrapped.
        AnsiConsole.Console.Profile.Width = 100_000;
        try
        {
            int exit = CliApp.Create().Run(args);
            return (exit, writer.ToString());
        }
        finally
        {
            AnsiConsole.Console = previous;
        }
    }

    private int ExpectedTiles(int level, int tile)
    {
        int d = 1 << level, count = 0;
        for (long y = 0; y < Content.Height; y += tile * d)
        {
            for (long x = 0; x < Content.Width; x += tile * d)
            {
                int tissue = 0;
                for (int j = 0; j < tile; j++)
                {
                    for (int i = 0; i < tile; i++)
                    {
                        tissue += Content.IsTissue((Math.Floor((x + (i + 0.5) * d) / d) + 0.5) * d, (Math.Floor((y + (j + 0.5) * d) / d) + 0.5) * d) ? 1 : 0;
                    }
                }
                count += tissue >= 0.01 * tile * tile ? 1 : 0;
            }
        }
        return count;
    }

    [Theory]
    [InlineData(0, 128)]
    [InlineData(1, 64)]
    public void Tiles_a_generated_slide_into_the_expected_count(int level, int tile)
    {
        var slide = WriteSlide("normal_001.tif");
        var outDir = _files.File("out");
        var (exit, output) = Ips("slides", "tile", slide, "--out", outDir, "--level", level.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--tile-size", tile.ToString(System.Globalization.CultureInfo.InvariantCulture), "--plain");

        Assert.True(exit == 0, output);
        var coords = TileCoordsFile.Read(Path.Combine(outDir, "normal_001.h5"));
        Assert.Equal(ExpectedTiles(level, tile), coords.Count);
        Assert.InRange(coords.Count, 6, 60);
        Assert.Equal(0.0, coords.Info.OtsuThreshold);
        Assert.True(File.Exists(Path.Combine(outDir, "normal_001.qc.png")));
        Assert.Contains("done normal_001.tif:", output);
        Assert.Contains($"{coords.Count} tiles kept", output);
    }

    [Fact]
    public void Bad_inputs_give_one_message_each_and_the_other_slides_complete()
    {
        WriteSlide("normal_001.tif");
        WriteSlide("normal_002.tif");
        WriteSlide("tumor_001.tif");           // its annotation file is missing
        WriteSlide("tumor_002.tif");           // its annotation file is malformed
        var fake = _files.File(Path.Combine("slides", "fake.tif"));
        File.WriteAllText(fake, "this is not a TIFF file");
        var annotations = _files.File("annotations");
        Directory.CreateDirectory(annotations);
        File.WriteAllText(Path.Combine(annotations, "tumor_002.xml"), "<ASAP_Annotations><Annotations>");
        var outDir = _files.File("out");

        var (exit, output) = Ips("slides", "tile", _files.File("slides"), "--out", outDir, "--annotations", annotations, "--tile-size", "128", "--plain");

        Assert.Equal(1, exit);
        Assert.True(File.Exists(Path.Combine(outDir, "normal_001.h5")), output);
        Assert.True(File.Exists(Path.Combine(outDir, "normal_002.h5")), output);
        foreach (var name in new[] { "fake", "tumor_001", "tumor_002" })
        {
            Assert.False(File.Exists(Path.Combine(outDir, name + ".h5")));
        }
        var errors = output.Split('\n').Where(l => l.StartsWith("error:", StringComparison.Ordinal)).ToList();
        Assert.Equal(3, errors.Count);
        Assert.Contains(errors, e => e.Contains("fake.tif", StringComparison.Ordinal) && e.Contains("TIFF", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains(Path.Combine(annotations, "tumor_001.xml"), StringComparison.Ordinal) && e.Contains("not found", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains(Path.Combine(annotations, "tumor_002.xml"), StringComparison.Ordinal) && e.Contains("XML", StringComparison.Ordinal));
        Assert.Contains("3 of 5 slide(s) failed", output);
        Assert.DoesNotContain("   at ", output);
    }

    [Fact]
    public void A_rerun_after_a_kill_mid_slide_finishes_that_slide_and_skips_the_others()
    {
        WriteSlide("a.tif");
        var b = WriteSlide("b.tif");
        var outDir = _files.File("out");
        var options = new TilingOptions { TileSize = 128 };
        SlideTilingJob.Run(_files.File(Path.Combine("slides", "a.tif")), outDir, options, null, p => SlideOpener.Open(p));
        var finished = File.GetLastWriteTimeUtc(Path.Combine(outDir, "a.h5"));

        // Stop b in the middle of its tile rows, as a kill would, and leave a half-written temporary behind as well.
        using var stop = new CancellationTokenSource();
        var stopper = new Stopper(stop, rows: 3);
        Assert.ThrowsAny<OperationCanceledException>(() => SlideTilingJob.Run(b, outDir, options, null, p => SlideOpener.Open(p), stopper, stop.Token));
        File.WriteAllText(Path.Combine(outDir, ".b.0123456789abcdef0123456789abcdef.tmp.h5"), "half");
        Assert.False(File.Exists(Path.Combine(outDir, "b.h5")));

        var (exit, output) = Ips("slides", "tile", _files.File("slides"), "--out", outDir, "--tile-size", "128", "--plain");

        Assert.True(exit == 0, output);
        Assert.Contains("skipped a.tif", output);
        Assert.Contains("done b.tif", output);
        Assert.Equal(finished, File.GetLastWriteTimeUtc(Path.Combine(outDir, "a.h5")));
        Assert.Equal(ExpectedTiles(0, 128), TileCoordsFile.Read(Path.Combine(outDir, "b.h5")).Count);
        Assert.Equal(["a.h5", "a.qc.png", "b.h5", "b.qc.png"], Directory.GetFiles(outDir).Select(Path.GetFileName).Order());

        // Other parameters for finished slides are refused rather than mixed into one folder.
        var (again, message) = Ips("slides", "tile", _files.File("slides"), "--out", outDir, "--tile-size", "256", "--plain");
        Assert.Equal(1, again);
        Assert.Contains("already holds tiles cut with level 0, tile size 128", message);
    }

    [Fact]
    public void Shards_split_a_folder_into_disjoint_sets_covering_every_slide()
    {
        var names = Enumerable.Range(0, 6).Select(i => $"s{i}.tif").ToList();
        var small = new RectangleContent(300, 200, (10, 100, 10, 100));
        names.ForEach(n => WriteSlide(n, small));
        var outDirs = Enumerable.Range(0, 3).Select(k => _files.File($"out{k}")).ToList();
        for (int k = 0; k < 3; k++)
        {
            var (exit, output) = Ips("slides", "tile", _files.File("slides"), "--out", outDirs[k], "--tile-size", "64", "--shard", $"{k}/3", "--plain");
            Assert.True(exit == 0, output);
        }
        var done = outDirs.Select(d => Directory.Exists(d) ? Directory.GetFiles(d, "*.h5").Select(Path.GetFileNameWithoutExtension).ToList() : []).ToList();
        Assert.Equal(names.Select(Path.GetFileNameWithoutExtension).Order(), done.SelectMany(d => d).Order());
        Assert.Equal(6, done.Sum(d => d.Count));
    }

    private sealed class Stopper(CancellationTokenSource stop, int rows) : IProgress<SlidePassProgress>
    {
        public void Report(SlidePassProgress value)
        {
            if (value.Phase == "tiles" && value.Done == rows)
            {
                stop.Cancel();
            }
        }
    }
}
