using System.Text.Json;
using Ips.Configuration;
using Ips.IO;
using Ips.Modeling;
using Ips.Tests.Data;
using static TorchSharp.torch;

namespace Ips.Tests.Cli;

/// <summary><c>evaluate --out</c> writes the scores it prints as JSON; <c>config check</c> and <c>train --dry-run</c> open the data and write nothing.</summary>
public sealed class EvaluateOutputTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Evaluate_out_config_check_and_dry_run_on_a_tiny_megapixel_mnist()
    {
        var mnist = Path.Combine(_dir.Path, "mnist");
        Directory.CreateDirectory(mnist);
        MnistTestData.WriteSplits(mnist, MnistTestData.Synthetic(60), MnistTestData.Synthetic(30, salt: 3), gz: false);
        var data = Path.Combine(_dir.Path, "mpm");
        Assert.Equal(0, CommandLineTests.Ips("data", "megapixel-mnist", data, "--n-train", "4", "--n-test", "3", "--width", "100", "--height", "100", "--n-noise", "1", "--mnist", mnist, "--plain").Code);
        var config = CommandLineTests.RepoConfig("mnist-small.yml");
        string[] overrides = ["--set", $"data_dir={data}", "--set", "N=4", "--set", "patch_size=[50,50]", "--set", "patch_stride=[50,50]", "--set", "M=2", "--set", "I=2", "--set", "B=3", "--set", "B_seq=3"];
        var weights = Path.Combine(_dir.Path, "model.pt");
        manual_seed(1);
        using (var net = new IpsNet(ConfigLoader.Load(config, [$"data_dir={data}", "N=4", "patch_size=[50,50]", "patch_stride=[50,50]", "M=2", "I=2"])))
        {
            StateDictIO.Save(net, weights);
        }

        var scores = Path.Combine(_dir.Path, "scores.json");
        var (code, output) = CommandLineTests.Ips(["evaluate", "-c", config, .. overrides, "-w", weights, "--out", scores]);
        Assert.True(code == 0, output);
        using (var json = JsonDocument.Parse(File.ReadAllText(scores)))
        {
            Assert.Equal("test", json.RootElement.GetProperty("split").GetString());
            Assert.Equal(3, json.RootElement.GetProperty("examples").GetInt32());
            var majority = json.RootElement.GetProperty("tasks").GetProperty("majority");
            Assert.Equal("accuracy", majority.GetProperty("metric").GetString());
            Assert.InRange(majority.GetProperty("value").GetDouble(), 0, 1);
            Assert.True(majority.GetProperty("loss").GetDouble() > 0);
        }

        var run = Path.Combine(_dir.Path, "run");
        var written = Console.Out;
        var text = new StringWriter();
        Console.SetOut(text);
        try
        {
            Assert.Equal(0, CommandLineTests.Ips(["train", "-c", config, .. overrides, "--run-dir", run, "--dry-run"]).Code);
            Assert.Equal(0, CommandLineTests.Ips(["config", "check", config, .. overrides]).Code);
        }
        finally
        {
            Console.SetOut(written);
        }
        Assert.False(Directory.Exists(run));
        var printed = text.ToString();
        Assert.Contains("4 training, 3 test examples", printed);
        Assert.Contains($"run directory {run}: would be created", printed);
        Assert.Contains("M: 2", printed);
    }
}
