using System.Text.RegularExpressions;
using Ips.Data.Camelyon16;
using Ips.IO;
using Ips.Tests.Data;

namespace Ips.Tests.Cli;

/// <summary>
/// <c>ips slides status</c> and the failure records behind it: a slide that fails is recorded (<c>NAME.failed</c>), listed
/// with its error, skipped with <c>--skip-failed</c>, retried by default, and cleared once it is done.
/// </summary>
public sealed class CohortStatusTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Slides => Path.Combine(_dir.Path, "slides");

    private string Tiles => Path.Combine(_dir.Path, "tiles");

    private void WriteSlide(string name, int seed) => PyramidalTiffWriter.Write(Path.Combine(Slides, name + ".tif"),
        new SyntheticTissue(768, 512, seed, tissueFraction: 0.3), new SlideWriteOptions { TileSize = 256, SmallestLevelSize = 256 });

    private (int Code, string Text) Ips(params string[] args) => CliProcess.Run(_dir.Path, args);

    [Fact]
    public void A_failed_slide_is_recorded_listed_skipped_or_retried_as_asked_and_cleared_once_done()
    {
        Directory.CreateDirectory(Slides);
        WriteSlide("a", 1);
        WriteSlide("b", 2);
        var bad = Path.Combine(Slides, "c.tif");
        File.WriteAllText(bad, "not a slide");
        string[] tile = ["slides", "tile", Slides, "--out", Tiles, "--tile-size", "128", "--plain"];

        var (code, text) = Ips(tile);
        Assert.True(code == 1, text);
        var recorded = FailureRecord.Read(Tiles, "c");
        Assert.NotNull(recorded);
        Assert.StartsWith(bad, recorded.Message, StringComparison.Ordinal);

        (code, text) = Ips("slides", "status", Tiles);
        Assert.True(code == 0, text);
        Assert.Contains($"{Tiles}: 2 done, 0 in progress, 1 failed, 0 to do, of 3", text, StringComparison.Ordinal);
        Assert.Contains($"failed c: {recorded.Message} (on {Environment.MachineName}, ", text, StringComparison.Ordinal);
        Assert.DoesNotContain("all done", text, StringComparison.Ordinal);

        (code, text) = Ips([.. tile, "--skip-failed"]);
        Assert.True(code == 1, text);
        Assert.Contains("error: c.tif: failed in an earlier run (", text, StringComparison.Ordinal);
        // The console wraps long lines, within long paths too.
        Assert.Contains(Regex.Replace($"not retried with --skip-failed: {recorded.Message}", @"\s", ""), Regex.Replace(text, @"\s", ""), StringComparison.Ordinal);
        Assert.Equal(recorded, FailureRecord.Read(Tiles, "c"));

        // The default retries it: it fails again (a new record), then, repaired, is done and its record goes.
        (code, text) = Ips(tile);
        Assert.True(code == 1, text);
        Assert.True(FailureRecord.Read(Tiles, "c")!.Recorded > recorded.Recorded, text);
        File.Delete(bad);
        WriteSlide("c", 3);
        (code, text) = Ips(tile);
        Assert.True(code == 0, text);
        Assert.Contains("done c.tif", text, StringComparison.Ordinal);
        Assert.Contains("skipped a.tif: finished before", text, StringComparison.Ordinal);
        Assert.False(File.Exists(FailureRecord.PathFor(Tiles, "c")));

        (code, text) = Ips("slides", "status", Tiles);
        Assert.True(code == 0, text);
        Assert.Contains($"{Tiles}: 3 done, 0 in progress, 0 failed, 0 to do, of 3", text, StringComparison.Ordinal);
        Assert.EndsWith("all done", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Status_lists_a_slide_in_progress_with_its_holder_and_the_slides_no_step_has_reached_as_to_do()
    {
        Directory.CreateDirectory(Slides);
        WriteSlide("a", 1);
        WriteSlide("b", 2);
        var (code, text) = Ips("slides", "tile", Path.Combine(Slides, "a.tif"), "--out", Tiles, "--tile-size", "128", "--plain");
        Assert.True(code == 0, text);
        var features = Path.Combine(_dir.Path, "features");
        Directory.CreateDirectory(features);

        using (var held = OutputLock.TryAcquire(OutputLock.PathFor(features, "a"), out _))
        {
            Assert.NotNull(held);
            (code, text) = Ips("slides", "status", Tiles, features, "--slides", Slides);
        }

        Assert.True(code == 0, text);
        Assert.Contains($"{Tiles}: 1 done, 0 in progress, 0 failed, 1 to do, of 2 to do b", text, StringComparison.Ordinal);
        Assert.Contains($"{features}: 0 done, 1 in progress, 0 failed, 1 to do, of 2 in progress a: since ", text, StringComparison.Ordinal);
        Assert.Contains($"UTC, pid {Environment.ProcessId} on host {Environment.MachineName}, started ", text, StringComparison.Ordinal);
        Assert.Contains("total: 1 done, 1 in progress, 0 failed, 2 to do, of 4 (2 step(s) x 2 slide(s))", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Status_of_a_folder_that_does_not_exist_is_no_input()
    {
        var missing = Path.Combine(_dir.Path, "nowhere");
        var (code, text) = Ips("slides", "status", missing);
        Assert.Equal(66, code);
        Assert.Contains($"error: {missing}: output folder not found", text, StringComparison.Ordinal);
    }
}
