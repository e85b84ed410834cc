using Ips.Tests.Data;

namespace Ips.Tests.Cli;

/// <summary>A failed <c>ips pretrain byol</c> leaves no half-made run folder, and never removes one it did not make.</summary>
public sealed class PretrainFailureTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void A_new_run_that_fails_before_its_first_checkpoint_leaves_no_folder()
    {
        Directory.CreateDirectory(Path.Combine(_dir.Path, "empty"));

        var (code, output) = CliProcess.Run(_dir.Path, "pretrain", "byol", "--tiles", "empty", "--out", "run", "--plain");

        // A folder that holds no tiles is "no input" (66) by the README's table, like a folder without slides.
        Assert.Equal(66, code);
        Assert.Contains("error: --tiles empty: no PNG/JPEG/TIFF tiles", output);
        Assert.False(Directory.Exists(Path.Combine(_dir.Path, "run")));
    }

    [Fact]
    public void A_folder_that_existed_before_is_left_as_it_was()
    {
        Directory.CreateDirectory(Path.Combine(_dir.Path, "empty"));
        var run = Path.Combine(_dir.Path, "run");
        Directory.CreateDirectory(run);
        File.WriteAllText(Path.Combine(run, "notes.txt"), "mine");

        var (code, _) = CliProcess.Run(_dir.Path, "pretrain", "byol", "--tiles", "empty", "--out", "run", "--plain");

        Assert.NotEqual(0, code);
        Assert.Equal("mine", File.ReadAllText(Path.Combine(run, "notes.txt")));
    }
}
