using System.Globalization;
using System.Text.Json;
using Ips.Tests.Cli;
using Xunit.Abstractions;

namespace Ips.Tests.Examples;

/// <summary>
/// examples/own-images/run.sh's commands at a reduced size (photos of about 256 px, 20 training and 10 test per class,
/// resnet18 cut after layer2): generate, config init, train, evaluate, predict, and the model finds the scratch
/// well above chance.
/// </summary>
public sealed class OwnImagesExampleTests(ITestOutputHelper output) : IDisposable
{
    /// <summary>Two balanced classes: chance is 0.5; 15 of 20 test photos right happens by chance with p = 0.02.</summary>
    private const double AccuracyBound = 0.75;

    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public void TheExampleLearnsToFindTheScratch()
    {
        var data = _files.File("data");
        var config = _files.File("my.yml");
        var run = _files.File("run");
        Run("data", "inspection", data, "--train", "20", "--test", "10", "--size", "256", "--defect", "32");
        var summary = Run("config", "init", data, "--out", config);
        Assert.Contains("task label (softmax): defect 20 train / 10 test, ok 20 train / 10 test", summary);
        Run("train", "-c", config, "--run-dir", run, "--set", "n_epoch=10", "--set", "n_epoch_warmup=1", "--set", "lr=0.001", "--set", "B=4",
            "--set", "n_res_blocks=2", "--set", "D=128", "--set", "D_inner=512", "--set", "H=4", "--set", "D_k=32", "--set", "D_v=32");

        var scores = _files.File("scores.json");
        var evaluation = Run("evaluate", "-c", Path.Combine(run, "config.yml"), "-w", Path.Combine(run, "best-model.pt"), "--out", scores);
        output.WriteLine(evaluation);
        double accuracy, balanced;
        using (var document = JsonDocument.Parse(File.ReadAllText(scores)))
        {
            var label = document.RootElement.GetProperty("tasks").GetProperty("label");
            accuracy = label.GetProperty("value").GetDouble();
            balanced = label.GetProperty("perClass").GetProperty("balancedAccuracy").GetDouble();
        }
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"test accuracy of the best epoch {accuracy:F3}, balanced {balanced:F3}"));
        Assert.True(accuracy >= AccuracyBound, $"test accuracy {accuracy}");
        Assert.Equal(accuracy, balanced, 6); // ten test photos per class

        var predictions = _files.File("predictions.json");
        var photo = Path.Combine(data, "test", "defect", "defect_000.png");
        var printed = Run("predict", "-c", Path.Combine(run, "config.yml"), "-w", Path.Combine(run, "best-model.pt"), photo, "--out", predictions);
        Assert.Contains($"{photo}: label ", printed);
        using var predicted = JsonDocument.Parse(File.ReadAllText(predictions));
        Assert.Contains(predicted.RootElement[0].GetProperty("predicted").GetProperty("label")[0].GetProperty("class").GetString(), new[] { "defect", "ok" });
    }

    private string Run(params string[] args)
    {
        var (code, text) = CliProcess.Run(_files.Root, [.. args, "--plain"]);
        Assert.True(code == 0, $"ips {string.Join(' ', args)} exited with {code}: {text}");
        return text;
    }
}
