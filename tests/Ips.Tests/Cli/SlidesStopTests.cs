using Ips.Data.Camelyon16;
using Ips.Encoders;
using Ips.Features;
using Ips.IO;
using Ips.Slides;
using Ips.Slides.Tiling;
using Ips.Tests.Data;

namespace Ips.Tests.Cli;

/// <summary>
/// Four generated slides in two subfolders, their tile coordinates (256-pixel tiles) and a ResNet-18 encoder file
/// (random weights in torchvision layout): what <c>ips slides tile</c> and <c>ips slides features</c> are stopped on.
/// </summary>
public sealed class StoppableSlides : IDisposable
{
    private readonly TempDir _dir = new();

    public StoppableSlides()
    {
        var options = new SlideWriteOptions { TileSize = 256, SmallestLevelSize = 256, MicronsPerPixel = 0.5 };
        for (var i = 0; i < Names.Length; i++)
        {
            var path = Path.Combine(Slides, i < 2 ? "first" : "second", Names[i] + ".tif");
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            PyramidalTiffWriter.Write(path, new SyntheticTissue(2048, 1536, seed: 11 + i, tissueFraction: 0.3, blobRadius: 300), options);
            SlideTilingJob.Run(path, Coords, new TilingOptions { TileSize = 256 }, null, slide => SlideOpener.Open(slide));
        }
        TorchSharp.torch.manual_seed(3);
        using var backbone = new ResNetBackbone("resnet18");
        StateDictIO.Save(backbone, Encoder);
    }

    /// <summary>The slides' names, in the order the commands take them.</summary>
    public string[] Names { get; } = ["slide_1", "slide_2", "slide_3", "slide_4"];

    /// <summary>Where runs start and write.</summary>
    public string Root => _dir.Path;

    /// <summary>The folder of the slides (in subfolders).</summary>
    public string Slides => Path.Combine(Root, "slides");

    /// <summary>Their tile coordinates.</summary>
    public string Coords => Path.Combine(Root, "coords");

    /// <summary>A resnet18 state_dict.</summary>
    public string Encoder => Path.Combine(Root, "resnet18.pth");

    public void Dispose() => _dir.Dispose();
}

/// <summary>
/// <c>ips slides tile</c> and <c>ips slides features</c> stop as <c>ips train</c> does: SIGTERM (a cluster's time
/// limit, <c>docker stop</c>) ends the run at the next tile row or batch with exit code 143; the slides finished
/// before stay valid, the slide in progress leaves no file and no temporary, and a rerun does the rest.
/// </summary>
[Collection(nameof(TrainProcesses))]
public sealed class SlidesStopTests(StoppableSlides slides) : IClassFixture<StoppableSlides>
{
    private static void AssertNoTemporaries(string folder) =>
        Assert.Empty(Directory.GetFileSystemEntries(folder, "*.tmp*", SearchOption.AllDirectories));

    private static string[] Finished(string folder) =>
        Directory.GetFiles(folder, "*.h5").Select(Path.GetFileNameWithoutExtension).Order(StringComparer.Ordinal).ToArray()!;

    [Fact]
    public void Sigterm_during_slides_tile_keeps_the_finished_slides_leaves_nothing_of_the_current_one_and_a_rerun_does_the_rest()
    {
        var outDir = Path.Combine(slides.Root, "tiles");
        // 32-pixel tiles: 48 times the rows of the default, so a slide takes long enough to be stopped in.
        string[] args = ["slides", "tile", slides.Slides, "--out", outDir, "--tile-size", "32"];
        using (var run = CliProcess.Start(slides.Root, args))
        {
            run.WaitForLine("[2/4] slide_2.tif");
            run.Signal("TERM");
            Assert.Equal(143, run.WaitForExit());
            Assert.Contains("SIGTERM: stopping; finished slides are kept, the slide in progress is dropped", run.Text, StringComparison.Ordinal);
            Assert.Contains("slide(s) finished", run.Text, StringComparison.Ordinal);
            Assert.Contains("the slide in progress left no file", run.Text, StringComparison.Ordinal);
        }

        AssertNoTemporaries(outDir);
        var finished = Finished(outDir);
        Assert.InRange(finished.Length, 1, 3);
        Assert.Equal(slides.Names.Take(finished.Length), finished);
        // No QC picture without its coordinates: the slide in progress left nothing.
        Assert.Equal(finished, Directory.GetFiles(outDir, "*.qc.png").Select(f => Path.GetFileName(f)[..^".qc.png".Length]).Order(StringComparer.Ordinal));
        var written = finished.ToDictionary(name => name, name => File.ReadAllBytes(Path.Combine(outDir, name + ".h5")));
        foreach (var name in finished)
        {
            Assert.True(TileCoordsFile.Read(Path.Combine(outDir, name + ".h5")).Count > 0, name);
        }

        var (code, text) = CliProcess.Run(slides.Root, args);

        Assert.True(code == 0, text);
        foreach (var name in finished)
        {
            Assert.Contains($"skipped {name}.tif", text, StringComparison.Ordinal);
            Assert.Equal(written[name], File.ReadAllBytes(Path.Combine(outDir, name + ".h5")));
        }
        Assert.Equal(slides.Names, Finished(outDir));
        AssertNoTemporaries(outDir);
    }

    [Fact]
    public void Sigterm_during_slides_features_keeps_the_finished_slides_leaves_nothing_of_the_current_one_and_a_rerun_does_the_rest()
    {
        var outDir = Path.Combine(slides.Root, "features");
        // Two tiles a batch: a slide of about 25 tiles is a dozen batches, each a point where the run can stop.
        string[] args = ["slides", "features", slides.Slides, "--coords", slides.Coords, "--encoder", slides.Encoder, "--out", outDir,
            "--batch-size", "2", "--device", "cpu"];
        using (var run = CliProcess.Start(slides.Root, args))
        {
            run.WaitForLine("[1/4] slide_1:");
            run.Signal("TERM");
            Assert.Equal(143, run.WaitForExit());
            Assert.Contains("SIGTERM: stopping; finished slides are kept, the slide in progress is dropped", run.Text, StringComparison.Ordinal);
            Assert.Contains("the slide in progress left no file", run.Text, StringComparison.Ordinal);
        }

        AssertNoTemporaries(outDir);
        var finished = Finished(outDir);
        Assert.InRange(finished.Length, 1, 3);
        Assert.Equal(slides.Names.Take(finished.Length), finished);
        foreach (var name in finished)
        {
            using var features = Hdf5FeatureSource.OpenSlideFile(Path.Combine(outDir, name + ".h5"));
            Assert.Equal(TileCoordsFile.Read(Path.Combine(slides.Coords, name + ".h5")).Count, features.Count);
            Assert.Equal(new long[] { 512 }, features.PatchShape);
        }

        var (code, text) = CliProcess.Run(slides.Root, args);

        Assert.True(code == 0, text);
        foreach (var name in finished)
        {
            Assert.Contains($"{name}: done before, skipped", text, StringComparison.Ordinal);
        }
        Assert.Equal(slides.Names, Finished(outDir));
        AssertNoTemporaries(outDir);
    }
}
