using System.Text.Json;
using Ips.Cli;
using Ips.Configuration;
using Ips.Data.MegapixelMnist;
using Ips.Features;
using Ips.IO;
using Ips.Imaging;
using Ips.Modeling;
using Ips.Tests.Data;
using Ips.Training;
using static TorchSharp.torch;

namespace Ips.Tests.Cli;

/// <summary>The CLI as a user runs it: generate a tiny Megapixel MNIST, train an epoch, evaluate, predict.</summary>
public sealed class EndToEndTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static int Ips(params string[] args) => CliApp.Create().Run(args);

    [Fact]
    public void Generate_train_evaluate_and_predict_a_tiny_megapixel_mnist()
    {
        var mnist = Path.Combine(_dir.Path, "mnist");
        Directory.CreateDirectory(mnist);
        MnistTestData.WriteSplits(mnist, MnistTestData.Synthetic(200), MnistTestData.Synthetic(100, salt: 3), gz: false);
        var data = Path.Combine(_dir.Path, "mpm");
        Assert.Equal(0, Ips("data", "megapixel-mnist", data, "--n-train", "12", "--n-test", "6", "--width", "100", "--height", "100", "--n-noise", "2", "--mnist", mnist, "--plain"));

        var config = RepositoryFiles.Path("configs/mnist-small.yml");
        string[] overrides = ["--set", $"data_dir={data}", "--set", "N=4", "--set", "patch_size=[50,50]", "--set", "patch_stride=[50,50]", "--set", "M=2", "--set", "I=1", "--set", "B=4", "--set", "B_seq=4",
            "--set", "n_epoch=1", "--set", "n_epoch_warmup=0", "--set", "shuffle=false"];
        var run = Path.Combine(_dir.Path, "run");
        Assert.Equal(0, Ips(["train", "-c", config, .. overrides, "--run-dir", run, "--plain"]));
        foreach (var file in new[] { TrainingRun.LastCheckpoint, TrainingRun.BestCheckpoint, TrainingRun.BestModel, "metrics.csv", "curves.png", "config.yml" })
        {
            Assert.True(File.Exists(Path.Combine(run, file)), $"{file} missing from the run directory");
        }
        Assert.Equal(2, File.ReadAllLines(Path.Combine(run, "metrics.csv")).Length);
        Assert.Equal(0, Ips(["evaluate", "-c", config, .. overrides, "-w", Path.Combine(run, TrainingRun.LastCheckpoint)]));

        var split = MegapixelMnistSplit.Read(Path.Combine(data, "test.bin"));
        var png = Path.Combine(_dir.Path, "canvas.png");
        using (var canvas = split.Render(0))
        {
            ImageFile.SaveGray(canvas, png);
        }
        var json = Path.Combine(_dir.Path, "prediction.json");
        var pictures = Path.Combine(_dir.Path, "attention");
        Assert.Equal(0, Ips(["predict", "-c", config, .. overrides, "-w", Path.Combine(run, TrainingRun.BestModel), png, "--out", json, "--attention-dir", pictures]));

        using var document = JsonDocument.Parse(File.ReadAllText(json));
        var prediction = document.RootElement[0];
        var probabilities = prediction.GetProperty("probabilities");
        foreach (var task in new[] { "majority", "max", "top" })
        {
            var p = probabilities.GetProperty(task).EnumerateArray().Select(v => v.GetSingle()).ToArray();
            Assert.Equal(10, p.Length);
            Assert.Equal(1.0, p.Sum(), 4);
        }
        Assert.Equal(10, probabilities.GetProperty("multi").GetArrayLength());
        var selected = prediction.GetProperty("selected").EnumerateArray().ToList();
        Assert.Equal(2, selected.Count);
        var indices = selected.Select(s => s.GetProperty("index").GetInt64()).ToList();
        Assert.Equal(indices.Order(), indices);
        foreach (var patch in selected)
        {
            var box = patch.GetProperty("box");
            var index = patch.GetProperty("index").GetInt64();
            Assert.Equal((index % 2) * 50, box.GetProperty("x").GetInt32());
            Assert.Equal((index / 2) * 50, box.GetProperty("y").GetInt32());
            Assert.Equal(50, box.GetProperty("width").GetInt32());
        }
        Assert.True(File.Exists(prediction.GetProperty("attention_map").GetString()));
    }

    [Fact]
    public void Predict_a_feature_matrix_deterministically_and_refuse_a_wrong_width()
    {
        var yaml = Path.Combine(_dir.Path, "features.yml");
        File.WriteAllText(yaml, """
            n_epoch: 1
            B: 2
            n_epoch_warmup: 0
            lr: 0.001
            wd: 0.1
            n_class: 1
            data_dir: 'unused'
            is_image: False
            n_chan_in: 6
            shuffle: False
            n_token: 1
            M: 3
            I: 4
            use_pos: False
            H: 2
            D: 8
            D_k: 4
            D_v: 4
            D_inner: 16
            tasks:
              task0:
                id: 0
                name: 'tumour'
                act_fn: 'sigmoid'
                metric: 'auc'
            """);
        var config = ConfigLoader.Load(yaml);
        manual_seed(3);
        var weights = Path.Combine(_dir.Path, "model.safetensors");
        using (var net = new IpsNet(config))
        {
            StateDictIO.Save(net, weights);
        }
        var features = Path.Combine(_dir.Path, "slide.npy");
        NpyWriter.Write(features, Enumerable.Range(0, 20 * 6).Select(i => MathF.Sin(i * 0.37f)).ToArray(), 20, 6);

        var first = Path.Combine(_dir.Path, "a.json");
        var second = Path.Combine(_dir.Path, "b.json");
        Assert.Equal(0, Ips("predict", "-c", yaml, "-w", weights, features, "--out", first));
        Assert.Equal(0, Ips("predict", "-c", yaml, "-w", weights, features, "--out", second));
        Assert.Equal(File.ReadAllText(first), File.ReadAllText(second));

        using var document = JsonDocument.Parse(File.ReadAllText(first));
        var prediction = document.RootElement[0];
        Assert.Equal(20, prediction.GetProperty("patch_count").GetInt32());
        var p = prediction.GetProperty("probabilities").GetProperty("tumour")[0].GetSingle();
        Assert.InRange(p, 0f, 1f);
        var selected = prediction.GetProperty("selected").EnumerateArray().ToList();
        Assert.Equal(3, selected.Count);
        Assert.All(selected, s => Assert.False(s.TryGetProperty("box", out _)));

        var narrow = Path.Combine(_dir.Path, "narrow.npy");
        NpyWriter.Write(narrow, new float[20 * 5], 20, 5);
        Assert.Equal(1, Ips("predict", "-c", yaml, "-w", weights, narrow, "--out", Path.Combine(_dir.Path, "c.json")));
        Assert.False(File.Exists(Path.Combine(_dir.Path, "c.json")));
    }

    [Fact]
    public void A_bad_config_value_is_reported_with_exit_code_1_not_a_stack_trace()
    {
        Assert.Equal(1, Ips("train", "-c", RepositoryFiles.Path("configs/mnist-small.yml"), "--set", "M=1000", "--run-dir", Path.Combine(_dir.Path, "r"), "--plain"));
        Assert.False(File.Exists(Path.Combine(_dir.Path, "r", TrainingRun.LastCheckpoint)));
        // A run folder that is not there is a missing input: 66 (EX_NOINPUT) by the README's table.
        Assert.Equal(66, Ips("train", "--resume", Path.Combine(_dir.Path, "nowhere")));
    }
}
