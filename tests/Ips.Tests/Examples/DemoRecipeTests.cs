using Ips.Bench;
using Ips.Configuration;
using Ips.Tests.Cli;

namespace Ips.Tests.Examples;

/// <summary>
/// The demo's recipe (configs/mnist-small.yml, run by <c>ips demo</c>): it shows what IPS is for, and it learns. The
/// full demo's time and accuracy per seed are measured by <c>ips bench --parts demo</c>, not here.
/// </summary>
[Collection(NotebookCollection.Name)]
public sealed class DemoRecipeTests : IDisposable
{
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public void The_recipe_shows_selection_each_canvas_has_at_least_three_times_the_patches_the_model_sees()
    {
        var config = ConfigLoader.Load(RepositoryFiles.Path("configs/mnist-small.yml"));
        Assert.True(config.N >= 3 * config.M, $"N {config.N} < 3 M ({3 * config.M})");
        Assert.True(config.M < config.N && config.I < config.N, "M and I must be below N for selection to choose");
    }

    [Fact]
    public void A_reduced_demo_learns_above_chance_and_says_where_its_pictures_are()
    {
        // 2000 canvases, one epoch (31 % at 1400 on seed 1): well short of the recipe's accuracy, well above chance (10 %).
        var run = _files.File("run");
        var (code, text) = CliProcess.Run(_files.Root, "demo", "-c", RepositoryFiles.Path("configs/mnist-small.yml"), "--n-train", "2000",
            "--n-test", "200", "--predict", "2", "--set", "n_epoch=1", "--set", $"data_dir={_files.File("data")}", "--run-dir", run, "--seed", "1", "--plain");
        Assert.True(code == 0, text);

        var summary = DemoSummary.Read(run);
        Assert.Equal(1, summary.Seed);
        Assert.True(summary.TestMetrics["majority"] > 0.2, $"majority accuracy {summary.TestMetrics["majority"]:P1} is not above 20 %:\n{text}");
        Assert.Equal(["majority", "max", "top", "multi"], summary.TestMetrics.Keys);
        Assert.Equal(2, Directory.GetFiles(summary.Pictures, "*.attention.png").Length);
        Assert.Contains($"attention pictures in {summary.Pictures}", text, StringComparison.Ordinal);
    }
}
