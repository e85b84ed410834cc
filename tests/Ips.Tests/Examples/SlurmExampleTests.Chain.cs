using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Ips.Configuration;
using Ips.Encoders;
using Ips.IO;
using Ips.Tests.Cli;

namespace Ips.Tests.Examples;

public sealed partial class SlurmExampleTests
{
    // A model small enough to train for one epoch in seconds on six slides' ResNet-18 features (512 wide).
    private static readonly string[] TinyModel =
        ["n_chan_in=512", "D=16", "H=2", "D_k=8", "D_v=8", "D_inner=32", "M=4", "I=8", "B=2", "n_epoch=1", "n_epoch_warmup=0", "n_worker=1"];

    [Fact]
    public void Submit_sh_runs_tiling_features_training_and_prediction_one_after_the_other_on_a_real_Slurm()
    {
        var watch = Stopwatch.StartNew();
        var slurm = _cluster.Slurm;
        // A generated CAMELYON16 in the challenge's layout: the cohort folder holds training/ and testing/, as a real one does.
        var data = _files.File("camelyon16");
        var (code, text) = CliProcess.Run(_files.Root, ["data", "camelyon16", "synthetic", "--out", data, "--slides", "2", "--test", "2", "--size", "1024"]);
        Assert.True(code == 0, text);
        var labels = _files.File("labels.csv");
        (code, text) = CliProcess.Run(_files.Root, ["data", "camelyon16", "labels", data, "--out", labels]);
        Assert.True(code == 0, text);
        var slides = File.ReadLines(labels).Skip(1).Select(line => line.Split(',')[0]).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(6, slides.Count);
        var encoder = _files.File("resnet18.pth");
        TorchSharp.torch.manual_seed(7);
        using (var backbone = new ResNetBackbone("resnet18"))
        {
            StateDictIO.Save(backbone, encoder);
        }
        var config = _files.File("tiny.yml");
        File.WriteAllText(config, ConfigLoader.ToYaml(ConfigLoader.Load(RepositoryFiles.Path("configs/camelyon.yml"), TinyModel)));

        var shared = _files.File("c16");
        var submitted = slurm.Run(RepositoryFiles.Path("examples/slurm/submit.sh"), JobEnvironment(), data, shared, "3", encoder, config, labels);
        var ids = Submitted().Match(submitted);
        Assert.True(ids.Success, submitted);
        string[] steps = [.. Enumerable.Range(1, 4).Select(i => ids.Groups[i].Value)];
        slurm.WaitForJobs(TimeSpan.FromMinutes(10), steps);

        var logs = string.Join("\n", Directory.GetFiles(Path.Combine(shared, "logs")).Order(StringComparer.Ordinal)
            .Select(file => $"--- {Path.GetFileName(file)}\n{File.ReadAllText(file)}"));
        var tasks = steps.Select(slurm.Tasks).ToList();
        Assert.Equal([3, 3, 1, 3], tasks.Select(t => t.Count));
        Assert.All(tasks.SelectMany(t => t), task => Assert.True(task is { State: "COMPLETED", ExitCode: "0:0" }, $"{task}\n{logs}"));
        // --dependency=afterok: each step started only once every task of the one before had ended (whole seconds).
        for (var step = 1; step < steps.Length; step++)
        {
            Assert.True(tasks[step].Min(t => t.Start) >= tasks[step - 1].Max(t => t.End),
                $"step {step + 1} started before step {step} ended:\n{string.Join('\n', tasks.SelectMany(t => t))}");
        }
        _output.WriteLine(string.Join('\n', tasks.SelectMany(t => t).Select(t => $"{t.JobId} {t.TaskId}: {t.Start:HH:mm:ss}-{t.End:HH:mm:ss}")));

        AssertAllDone(data, slides.Count, Path.Combine(shared, "tiles"), Path.Combine(shared, "features"));
        Assert.True(File.Exists(Path.Combine(shared, "ips", "last.ckpt")), logs);
        // Every slide predicted once, by one of the three prediction tasks, with the metastases probability.
        var predicted = new List<string>();
        foreach (var part in Directory.GetFiles(Path.Combine(shared, "predict"), "part-*.json"))
        {
            using var json = JsonDocument.Parse(File.ReadAllText(part));
            foreach (var entry in json.RootElement.EnumerateArray())
            {
                Assert.False(entry.TryGetProperty("error", out var error), $"{part}: {error}");
                var probability = entry.GetProperty("probabilities").GetProperty("metastases")[0].GetDouble();
                Assert.InRange(probability, 0, 1);
                predicted.Add(Path.GetFileNameWithoutExtension(entry.GetProperty("input").GetString()!));
            }
        }
        Assert.Equal(slides, predicted.Order(StringComparer.Ordinal));
        _output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"submit.sh chain: {watch.Elapsed.TotalSeconds:F0} s in all"));
    }

    // submit.sh's last lines: "submitted: tile 12, features 13, train 14, predict 15".
    [GeneratedRegex(@"submitted: tile (\d+), features (\d+), train (\d+), predict (\d+)")]
    private static partial Regex Submitted();
}
