namespace Ips.Tests.Cli;

/// <summary>What <c>ips slides features</c> prints and leaves behind, run as a user runs it.</summary>
public sealed class SlidesFeaturesOutputTests(StoppableSlides slides) : IClassFixture<StoppableSlides>
{
    [Fact]
    public void Each_slide_gets_one_line()
    {
        var slide = Path.Combine(slides.Slides, "first", "slide_1.tif");
        var outDir = Path.Combine(slides.Root, "once-" + Guid.NewGuid().ToString("N"));

        using var child = CliProcess.Start(slides.Root, "slides", "features", slide, "--coords", slides.Coords, "--encoder", slides.Encoder,
            "--out", outDir, "--device", "cpu", "--plain");

        Assert.True(child.WaitForExit() == 0, child.Output);
        var lines = child.Output.Split('\n');
        // One result line; a slide running longer than 10 s may also get progress lines, marked as such.
        Assert.Single(lines, l => l.StartsWith("[1/1] slide_1: ", StringComparison.Ordinal) && l.Contains(" tiles in ", StringComparison.Ordinal));
        Assert.All(lines.Where(l => l.Contains("slide_1", StringComparison.Ordinal) && !l.StartsWith("[1/1]", StringComparison.Ordinal) && !l.Contains(outDir, StringComparison.Ordinal)),
            l => Assert.Contains(" tiles so far, ", l));
    }

    [Fact]
    public void A_missing_encoder_leaves_no_output_folder()
    {
        var outDir = Path.Combine(slides.Root, "none-" + Guid.NewGuid().ToString("N"));

        using var child = CliProcess.Start(slides.Root, "slides", "features", slides.Slides, "--coords", slides.Coords,
            "--encoder", Path.Combine(slides.Root, "nowhere.pth"), "--out", outDir);

        Assert.Equal(66, child.WaitForExit());
        Assert.Single(child.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.StartsWith("error: --encoder ", StringComparison.Ordinal) && l.Contains("no such file or folder, and not a preset", StringComparison.Ordinal));
        Assert.False(Directory.Exists(outDir));
    }
}
