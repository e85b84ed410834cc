using System.Globalization;
using System.Text.Json;
using Ips.Cli;
using Ips.Training;
using Xunit.Abstractions;

namespace Ips.Tests.Data.Traffic;

/// <summary>
/// The traffic-sign flow from the command line: fetch a generated STS data set from a local server, train a
/// scaled-down configs/traffic.yml, predict a photo of another size with an attention picture.
/// </summary>
public sealed class TrafficEndToEndTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    private static int Ips(params string[] args) => CliApp.Create().Run(args);

    [Fact]
    public void FetchTrainAndPredictLearnTheSignWellAboveChance()
    {
        var source = Path.Combine(_files.Root, "source");
        StsTestData.Write(source, perClass: 12, width: 80, height: 60);
        var served = new Dictionary<string, byte[]>();
        foreach (var set in new[] { "Set1", "Set2" })
        {
            served[$"/{set}/{set}Part0.zip"] = StsTestData.ZipImages(source, set);
            served[$"/{set}/annotations.txt"] = File.ReadAllBytes(Path.Combine(source, set, "annotations.txt"));
        }
        using var server = new LocalHttpServer(served);
        var data = Path.Combine(_files.Root, "dsets");
        Assert.Equal(0, Ips("data", "traffic", "--dir", data, "--base-url", server.BaseUrl, "--stats", "--plain"));
        Assert.True(File.Exists(Path.Combine(data, "Set2", "00047.jpg")));

        const int epochs = 8;
        var config = TrafficTestConfig.RepositoryConfig();
        var overrides = TrafficTestConfig.Overrides(data, epochs).SelectMany(item => new[] { "--set", item }).ToArray();
        var run = Path.Combine(_files.Root, "run");
        var watch = System.Diagnostics.Stopwatch.StartNew();
        Assert.Equal(0, Ips(["train", "-c", config, .. overrides, "--run-dir", run, "--plain"]));
        var trainSeconds = watch.Elapsed.TotalSeconds;

        var rows = File.ReadAllLines(Path.Combine(run, "metrics.csv"));
        var header = rows[0].Split(',');
        var column = Array.IndexOf(header, "test_sign_accuracy");
        var accuracies = rows.Skip(1).Select(row => double.Parse(row.Split(',')[column], CultureInfo.InvariantCulture)).ToList();
        output.WriteLine($"{epochs} epochs of 48 training photos in {trainSeconds:F1} s; test accuracy per epoch: {string.Join(", ", accuracies.Select(a => a.ToString("F3", CultureInfo.InvariantCulture)))}");
        Assert.Equal(epochs, accuracies.Count);
        // Four balanced classes: chance is 0.25, so 24 of the 48 test photos right happens by chance with p < 0.001. The
        // loader threads' timing changes the run: best accuracies of 0.54 and 0.73 were seen with the same code.
        Assert.True(accuracies.Max() >= 0.5, $"best test accuracy {accuracies.Max()}");

        // A test photo of 80 x 60 is resized to the model's 128 x 96 by the data set's own preprocessing.
        var photo = Path.Combine(data, "Set2", "00030.jpg"); // 70_SIGN
        var json = Path.Combine(_files.Root, "prediction.json");
        var pictures = Path.Combine(_files.Root, "attention");
        Assert.Equal(0, Ips(["predict", "-c", config, .. overrides, "-w", Path.Combine(run, TrainingRun.BestModel), photo, "--out", json, "--attention-dir", pictures]));
        using var document = JsonDocument.Parse(File.ReadAllText(json));
        var prediction = document.RootElement[0];
        Assert.Equal(48, prediction.GetProperty("patch_count").GetInt32());
        var probabilities = prediction.GetProperty("probabilities").GetProperty("sign").EnumerateArray().Select(v => v.GetSingle()).ToArray();
        Assert.Equal(4, probabilities.Length);
        Assert.Equal(1.0, probabilities.Sum(), 4);
        Assert.Equal(6, prediction.GetProperty("selected").GetArrayLength());
        Assert.True(File.Exists(prediction.GetProperty("attention_map").GetString()));
    }
}
