using Ips.Data.Camelyon16;
using Ips.Tests.Data;

namespace Ips.Tests.Cli;

/// <summary>
/// The bad inputs of issue 24 run through the built <c>ips</c> as a user runs it: each gives one line naming the input
/// or option, the exit code of the README's table, and nothing written.
/// </summary>
public sealed class BadInputTests : IDisposable
{
    private readonly TempDir _dir = new();

    public BadInputTests()
    {
        Directory.CreateDirectory(Path.Combine(_dir.Path, "empty"));
        File.WriteAllText(Path.Combine(_dir.Path, "a-file"), "not a folder");
    }

    public void Dispose() => _dir.Dispose();

    private string Slides
    {
        get
        {
            var slides = Path.Combine(_dir.Path, "slides");
            Directory.CreateDirectory(slides);
            PyramidalTiffWriter.Write(Path.Combine(slides, "normal_001.tif"), new SyntheticTissue(1024, 768, seed: 5, tissueFraction: 0.3),
                new SlideWriteOptions { TileSize = 256, SmallestLevelSize = 256 });
            return slides;
        }
    }

    // Runs ips in the temporary folder; returns its exit code and the lines it printed.
    private (int Code, string[] Lines) Run(params string[] args)
    {
        using var child = CliProcess.Start(_dir.Path, args);
        var code = child.WaitForExit();
        return (code, child.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    private void AssertOneLine(string[] lines, string message) =>
        Assert.True(lines.Count(l => l.Contains(message, StringComparison.Ordinal)) == 1 && lines.Count(l => l.StartsWith("error:", StringComparison.Ordinal)) <= 1,
            $"expected one line with '{message}':\n{string.Join('\n', lines)}");

    [Theory]
    [InlineData("--tile-size must be >= 1, got 0", "--tile-size", "0")]
    [InlineData("--overlap must be within 0 .. --tile-size - 1 (255), got 300", "--overlap", "300")]
    [InlineData("--fg-perc-thresh must be within 0 .. 1 (a fraction of the tile), got 2", "--fg-perc-thresh", "2")]
    [InlineData("--level must be >= 0, got -1", "--level", "-1")]
    [InlineData("--shard '3/2': expected k/n with 0 <= k < n, e.g. 0/4 for the first of four shards", "--shard", "3/2")]
    [InlineData("--shard auto: neither SLURM_ARRAY_TASK_ID (a Slurm array job) nor JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) is set; give --shard k/n", "--shard", "auto")]
    [InlineData("--claim and --shard exclude each other: --claim shares the whole cohort between the tasks, --shard splits it", "--claim", "--shard", "0/2")]
    [InlineData("--retry-failed and --skip-failed exclude each other", "--retry-failed", "--skip-failed")]
    public void A_wrong_tiling_option_is_a_usage_error_before_any_slide_is_opened(string message, params string[] option)
    {
        var (code, lines) = Run(["slides", "tile", Slides, "--out", "out", .. option]);
        Assert.Equal(64, code);
        Assert.Equal([$"error: {message}"], lines);
        Assert.False(Directory.Exists(Path.Combine(_dir.Path, "out")));
    }

    [Theory]
    [InlineData("--batch-size must be >= 1, got 0", "--batch-size", "0")]
    [InlineData("--workers must be >= 1, got 0", "--workers", "0")]
    [InlineData("--shard '3/2': expected k/n with 0 <= k < n, e.g. 0/4 for the first of four shards", "--shard", "3/2")]
    public void A_wrong_features_option_is_a_usage_error(string message, params string[] option)
    {
        var (code, lines) = Run(["slides", "features", Slides, "--coords", "coords", "--encoder", "e.pth", "--out", "out", .. option]);
        Assert.Equal(64, code);
        Assert.Equal([$"error: {message}"], lines);
        Assert.False(Directory.Exists(Path.Combine(_dir.Path, "out")));
    }

    [Theory]
    [InlineData("--otsu-level")]
    [InlineData("--level")]
    public void A_level_the_slide_lacks_names_the_option_and_the_slide(string option)
    {
        var slides = Slides;
        var (code, lines) = Run("slides", "tile", slides, "--out", "out", option, "99");
        Assert.Equal(1, code);
        AssertOneLine(lines, $"error: {Path.Combine(slides, "normal_001.tif")}: {option} 99: the slide has levels 0 .. ");
        // No output, only the failure record a rerun retries (ips slides status lists it).
        var written = Directory.GetFiles(Path.Combine(_dir.Path, "out")).Select(Path.GetFileName).ToList();
        Assert.Contains("normal_001.failed", written);
        Assert.All(written, name => Assert.EndsWith(".failed", name, StringComparison.Ordinal));
        Assert.StartsWith($"{Path.Combine(slides, "normal_001.tif")}: {option} 99: the slide has levels 0 .. ",
            File.ReadAllLines(Path.Combine(_dir.Path, "out", "normal_001.failed"))[0], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("tile", "--out", "out")]
    [InlineData("features", "--coords", "coords", "--encoder", "e.pth", "--out", "out")]
    public void A_folder_without_slides_exits_66_naming_what_was_searched(string command, params string[] options)
    {
        var (code, lines) = Run(["slides", command, "empty", .. options]);
        Assert.Equal(66, code);
        Assert.Equal(["error: no slides in empty (searched with subfolders for .tif, .tiff, .svs, .ndpi, .mrxs, .scn, .bif, .vms, .vmu, .svslide)"], lines);
        Assert.False(Directory.Exists(Path.Combine(_dir.Path, "out")));
    }

    [Theory]
    [InlineData("tile")]
    [InlineData("features", "--coords", "coords", "--encoder", "e.pth")]
    public void Out_on_a_file_says_a_folder_is_expected(string command, params string[] options)
    {
        var (code, lines) = Run(["slides", command, Slides, .. options, "--out", "a-file"]);
        Assert.Equal(64, code);
        Assert.Equal(["error: --out a-file is a file; --out takes a folder (created when missing)"], lines);
        Assert.Equal("not a folder", File.ReadAllText(Path.Combine(_dir.Path, "a-file")));
    }

    [Fact]
    public void Predict_on_a_path_that_does_not_exist_says_not_found()
    {
        var (code, lines) = Run("predict", "missing.npy", "-c", "nowhere.yml", "-w", "nowhere.pt");
        Assert.Equal(66, code);
        Assert.Equal(["error: missing.npy: input not found"], lines);
    }

    [Fact]
    public void A_wrong_predict_slide_option_is_a_usage_error()
    {
        var (code, lines) = Run("predict", "missing.tif", "-w", "nowhere.pt", "--tile-size", "0");
        Assert.Equal(64, code);
        Assert.Equal(["error: --tile-size must be >= 1, got 0"], lines);
    }

    [Fact]
    public void A_tumour_slide_tiled_without_annotations_gets_one_warning_line()
    {
        var slides = Slides;
        foreach (var name in new[] { "tumor_001.tif", "tumor_002.tif" })
        {
            File.Copy(Path.Combine(slides, "normal_001.tif"), Path.Combine(slides, name));
        }
        var (code, lines) = Run("slides", "tile", slides, "--out", "out");
        Assert.Equal(0, code);
        AssertOneLine(lines, "warning: 2 slide(s) named tumor* (tumor_001.tif, ...) are tiled without --annotations: their tiles get tumour fraction 0");
        Assert.Equal(3, Directory.GetFiles(Path.Combine(_dir.Path, "out"), "*.h5").Length);
    }
}
