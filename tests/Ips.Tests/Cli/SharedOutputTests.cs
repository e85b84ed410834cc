using System.Diagnostics;
using System.Globalization;
using Ips.Data.Camelyon16;
using Ips.Encoders;
using Ips.IO;
using Ips.Tests.Data;

namespace Ips.Tests.Cli;

/// <summary>Six generated slides and a ResNet-18 encoder file (random weights in torchvision layout).</summary>
public sealed class SixSlides : IDisposable
{
    private readonly TempDir _dir = new();

    public SixSlides()
    {
        var options = new SlideWriteOptions { TileSize = 256, SmallestLevelSize = 256, MicronsPerPixel = 0.5 };
        Directory.CreateDirectory(Slides);
        foreach (var (name, i) in Names.Select((name, i) => (name, i)))
        {
            PyramidalTiffWriter.Write(Path.Combine(Slides, name + ".tif"),
                new SyntheticTissue(1536, 1024, seed: 40 + i, tissueFraction: 0.3, blobRadius: 250), options);
        }
        TorchSharp.torch.manual_seed(5);
        using var backbone = new ResNetBackbone("resnet18");
        StateDictIO.Save(backbone, Encoder);
    }

    /// <summary>The slides' names.</summary>
    public string[] Names { get; } = ["s_1", "s_2", "s_3", "s_4", "s_5", "s_6"];

    /// <summary>Where runs start and write.</summary>
    public string Root => _dir.Path;

    /// <summary>The folder of the slides.</summary>
    public string Slides => Path.Combine(Root, "slides");

    /// <summary>A resnet18 state_dict.</summary>
    public string Encoder => Path.Combine(Root, "resnet18.pth");

    public void Dispose() => _dir.Dispose();
}

/// <summary>
/// Several <c>ips</c> processes may share one <c>--out</c> folder of <c>slides tile</c> and <c>slides features</c>
/// (the same shard started twice, all shards at once): each slide is done by one of them, under its lock, and the
/// folder ends as one run leaves it, byte for byte.
/// </summary>
[Collection(nameof(TrainProcesses))]
public sealed class SharedOutputTests(SixSlides slides) : IClassFixture<SixSlides>
{
    private void RunConcurrently(string[] args, string what)
    {
        string[][] runs = [args, args, [.. args, "--shard", "0/2"], [.. args, "--shard", "1/2"]];
        var processes = runs.Select(run => CliProcess.Start(slides.Root, run)).ToList();
        try
        {
            foreach (var process in processes)
            {
                Assert.True(process.WaitForExit() == 0, $"{what}:\n{process.Output}");
                Assert.DoesNotContain("error", process.Text, StringComparison.OrdinalIgnoreCase);
            }
        }
        finally
        {
            processes.ForEach(p => p.Dispose());
        }
    }

    [Fact]
    public void Slides_tile_and_features_run_four_times_at_once_on_one_out_folder_end_byte_identical_to_one_run()
    {
        var (single, shared) = (Path.Combine(slides.Root, "single"), Path.Combine(slides.Root, "shared"));
        string[] Tile(string root) => ["slides", "tile", slides.Slides, "--out", Path.Combine(root, "tiles"), "--tile-size", "256", "--plain"];
        string[] Features(string root) => ["slides", "features", slides.Slides, "--coords", Path.Combine(single, "tiles"), "--encoder", slides.Encoder,
            "--out", Path.Combine(root, "features"), "--batch-size", "8", "--device", "cpu"];

        var (code, text) = CliProcess.Run(slides.Root, Tile(single));
        Assert.True(code == 0, text);
        (code, text) = CliProcess.Run(slides.Root, Features(single));
        Assert.True(code == 0, text);

        RunConcurrently(Tile(shared), "slides tile");
        RunConcurrently(Features(shared), "slides features");

        Assert.Equal(slides.Names.Length * 2, OutputFolders.Files(Path.Combine(single, "tiles")).Count);
        Assert.Equal(slides.Names.Length, OutputFolders.Files(Path.Combine(single, "features")).Count);
        // No lock files and no temporaries are left: the folders hold exactly what one run writes.
        OutputFolders.AssertSameFiles(Path.Combine(single, "tiles"), Path.Combine(shared, "tiles"), "single");
        OutputFolders.AssertSameFiles(Path.Combine(single, "features"), Path.Combine(shared, "features"), "single");
    }

    [Fact]
    public void Slides_features_leaves_a_slide_another_process_holds_to_it_with_one_line_naming_the_holder()
    {
        var coords = Path.Combine(slides.Root, "busy-coords");
        var (code, text) = CliProcess.Run(slides.Root, "slides", "tile", slides.Slides, "--out", coords, "--plain");
        Assert.True(code == 0, text);
        var outDir = Path.Combine(slides.Root, "busy-features");
        Directory.CreateDirectory(outDir);

        using (var held = OutputLock.TryAcquire(OutputLock.PathFor(outDir, "s_4"), out _))
        {
            Assert.NotNull(held);
            (code, text) = CliProcess.Run(slides.Root, "slides", "features", slides.Slides, "--coords", coords, "--encoder", slides.Encoder,
                "--out", outDir, "--device", "cpu");
        }

        Assert.True(code == 0, text);
        Assert.Contains($"[4/6] s_4: being embedded by another process now (pid {Environment.ProcessId} on host {Environment.MachineName}, started ",
            text, StringComparison.Ordinal);
        Assert.Equal(
            slides.Names.Where(name => name != "s_4").Select(name => name + ".h5"),
            Directory.GetFiles(outDir).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void A_slide_another_process_holds_is_skipped_with_one_line_naming_the_holder_and_a_dead_holders_lock_is_taken_over()
    {
        var outDir = Path.Combine(slides.Root, "held");
        Directory.CreateDirectory(outDir);
        string[] args = ["slides", "tile", slides.Slides, "--out", outDir, "--tile-size", "256", "--plain"];

        using (var held = OutputLock.TryAcquire(OutputLock.PathFor(outDir, "s_2"), out _))
        {
            Assert.NotNull(held);
            var (code, text) = CliProcess.Run(slides.Root, args);

            Assert.True(code == 0, text);
            Assert.Contains($"skipped s_2.tif: being tiled by another process now (pid {Environment.ProcessId} on host {Environment.MachineName}, started ",
                text, StringComparison.Ordinal);
            Assert.False(File.Exists(Path.Combine(outDir, "s_2.h5")));
            Assert.True(File.Exists(Path.Combine(outDir, "s_3.h5")));
        }

        // A holder killed with -9 leaves its lock and a temporary; the next run takes both over.
        using (var ended = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!)
        {
            ended.WaitForExit();
            File.WriteAllText(OutputLock.PathFor(outDir, "s_2"), string.Create(CultureInfo.InvariantCulture,
                $"host={Environment.MachineName}\npid={ended.Id}\nstarted={DateTime.UtcNow:yyyy-MM-dd'T'HH:mm:ss.fff'Z'}\ntoken=x\n"));
        }
        File.WriteAllText(Path.Combine(outDir, ".s_2.0123456789abcdef0123456789abcdef.tmp.h5"), "half");
        var (again, output) = CliProcess.Run(slides.Root, args);

        Assert.True(again == 0, output);
        Assert.Contains("done s_2.tif", output, StringComparison.Ordinal);
        Assert.Equal(
            slides.Names.SelectMany(name => new[] { name + ".h5", name + ".qc.png" }).Order(StringComparer.Ordinal),
            Directory.GetFiles(outDir).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }
}
