using System.Text.Json;
using Ips.Configuration;
using Ips.Features;
using Ips.IO;
using Ips.Imaging;
using Ips.Modeling;
using Ips.Tests.Data;
using Ips.Tests.Slides;
using Ips.Training;
using static TorchSharp.torch;

namespace Ips.Tests.Cli;

/// <summary>
/// What scripts read from predict and evaluate (classes per task, --keep-going, --out), and the one-line messages
/// for inputs and weights that are wrong, each naming the file.
/// </summary>
[Collection(nameof(ConsoleOutput))]
public sealed class PredictOutputTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly string _yaml;
    private readonly string _weights;

    public PredictOutputTests()
    {
        _yaml = Path.Combine(_dir.Path, "features.yml");
        System.IO.File.WriteAllText(_yaml, """
            n_epoch: 1
            B: 2
            n_epoch_warmup: 0
            lr: 0.001
            wd: 0.1
            n_class: 3
            data_dir: 'unused'
            is_image: False
            n_chan_in: 6
            shuffle: False
            n_token: 2
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
                name: 'grade'
                act_fn: 'softmax'
                metric: 'accuracy'
              task1:
                id: 1
                name: 'findings'
                act_fn: 'sigmoid'
                metric: 'multilabel_accuracy'
            """);
        manual_seed(5);
        _weights = Path.Combine(_dir.Path, "model.pt");
        using var net = new IpsNet(ConfigLoader.Load(_yaml));
        StateDictIO.Save(net, _weights);
    }

    public void Dispose() => _dir.Dispose();

    private string File(string name) => Path.Combine(_dir.Path, name);

    private string Features(string name, float[] values, int rows)
    {
        NpyWriter.Write(File(name), values, rows, 6);
        return File(name);
    }

    private (int Code, string Output) Predict(params string[] args) => CommandLineTests.Ips(["predict", "-c", _yaml, .. args]);

    [Fact]
    public void The_json_holds_the_class_of_each_task_besides_its_probabilities()
    {
        var good = Features("good.npy", [.. Enumerable.Range(0, 60).Select(i => MathF.Cos(i * 0.21f))], 10);
        var (code, output) = Predict("-w", _weights, good, "--out", File("p.json"));
        Assert.True(code == 0, output);

        using var json = JsonDocument.Parse(System.IO.File.ReadAllText(File("p.json")));
        var prediction = json.RootElement[0];
        var grade = prediction.GetProperty("probabilities").GetProperty("grade").EnumerateArray().Select(e => e.GetSingle()).ToArray();
        Assert.Equal(Array.IndexOf(grade, grade.Max()), prediction.GetProperty("classes").GetProperty("grade").GetInt32());
        var findings = prediction.GetProperty("probabilities").GetProperty("findings").EnumerateArray().Select(e => e.GetSingle()).ToArray();
        Assert.Equal(
            Enumerable.Range(0, 3).Where(i => findings[i] >= 0.5f),
            prediction.GetProperty("classes").GetProperty("findings").EnumerateArray().Select(e => e.GetInt32()));
    }

    [Fact]
    public void Keep_going_reports_bad_inputs_in_the_json_and_exits_1()
    {
        var good = Features("good.npy", [.. Enumerable.Range(0, 60).Select(i => MathF.Sin(i * 0.3f))], 10);
        var empty = Features("empty.npy", [], 0);
        var nans = Features("nans.npy", Enumerable.Repeat(float.NaN, 60).ToArray(), 10);

        var (code, output) = Predict("-w", _weights, empty, good, nans, "--keep-going", "--out", File("k.json"));

        Assert.True(code == 1, output);
        using var json = JsonDocument.Parse(System.IO.File.ReadAllText(File("k.json")));
        var entries = json.RootElement.EnumerateArray().ToList();
        Assert.Equal(3, entries.Count);
        Assert.Equal($"{empty}: the feature matrix has 0 rows; IPS needs at least one patch (one row of features)", entries[0].GetProperty("error").GetString());
        Assert.True(entries[1].TryGetProperty("classes", out _));
        Assert.StartsWith($"{nans}: row 0 holds NaN (column 0); features must be finite numbers", entries[2].GetProperty("error").GetString());
    }

    [Fact]
    public void Without_keep_going_a_nan_input_is_one_line_naming_the_file()
    {
        var nans = Features("nans.npy", [.. Enumerable.Range(0, 60).Select(i => i >= 36 ? float.NaN : 0.5f)], 10);
        var (code, output) = Predict("-w", _weights, nans);
        Assert.Equal(1, code);
        Assert.Contains($"error: {nans}: row 6 holds NaN (column 0); features must be finite numbers", output);
        Assert.DoesNotContain("JsonSerializer", output);
    }

    [Fact]
    public void Weights_of_another_model_are_one_line_naming_the_file_the_count_and_three_keys()
    {
        var features = Features("f.npy", [.. Enumerable.Range(0, 60).Select(i => i / 60f)], 10);
        var (code, output) = Predict("--set", "D=16", "-w", _weights, features);
        Assert.Equal(1, code);
        var line = Assert.Single(output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        var summary = System.Text.RegularExpressions.Regex.Match(line,
            $"^error: {System.Text.RegularExpressions.Regex.Escape(_weights)}: the state_dict does not match the model: "
            + @"(\d+) key\(s\) differ \(\d+ mis-shaped\), e\.g\. ([^;]+: file \[[\d, ]+\], model \[[\d, ]+\]; ){3}\.\.\. \(--verbose lists every key\)$");
        Assert.True(summary.Success, line);
        var count = int.Parse(summary.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(count > 3, line);

        (code, output) = Predict("--set", "D=16", "-w", _weights, features, "--verbose");
        Assert.Equal(1, code);
        Assert.Contains($"mis-shaped keys ({count}): ", output);
        Assert.Equal(count, System.Text.RegularExpressions.Regex.Matches(output, @": file \[").Count);
    }

    [Fact]
    public void Random_bytes_as_weights_are_not_a_state_dict()
    {
        var random = File("random.pt");
        System.IO.File.WriteAllBytes(random, [.. Enumerable.Range(0, 4096).Select(i => (byte)(i * 7919 % 251))]);
        var good = Features("good.npy", new float[60], 10);
        var (code, output) = Predict("-w", random, good);
        Assert.Equal(1, code);
        Assert.Contains($"error: {random}: not a PyTorch state_dict: torch.save writes a zip archive", output);
        Assert.DoesNotContain("old PyTorch format", output);
    }

    [Fact]
    public void A_truncated_checkpoint_is_damaged()
    {
        var config = ConfigLoader.Load(_yaml);
        var checkpoint = File("last.ckpt");
        using (var net = new IpsNet(config))
        {
            using var optimizer = optim.AdamW(net.parameters());
            Checkpoint.Save(checkpoint, net, optimizer, config, CheckpointState.Initial);
        }
        var bytes = System.IO.File.ReadAllBytes(checkpoint);
        System.IO.File.WriteAllBytes(checkpoint, bytes[..(bytes.Length / 2)]);

        var (code, output) = Predict("-w", checkpoint, Features("good.npy", new float[60], 10));
        Assert.Equal(1, code);
        Assert.Contains($"error: {checkpoint}: the checkpoint is damaged or truncated", output);
    }

    [Fact]
    public void An_image_of_the_wrong_size_is_named_with_width_x_height()
    {
        var config = CommandLineTests.RepoConfig("mnist-small.yml");
        string[] overrides = ["--set", "N=4", "--set", "patch_size=[50,50]", "--set", "patch_stride=[50,50]", "--set", "M=2", "--set", "I=2"];
        var weights = File("image-model.pt");
        using (var net = new IpsNet(ConfigLoader.Load(config, ["N=4", "patch_size=[50,50]", "patch_stride=[50,50]", "M=2", "I=2"])))
        {
            StateDictIO.Save(net, weights);
        }
        var image = File("wide.png");
        using (var pixels = rand(1, 100, 200))
        {
            ImageFile.SaveGray(pixels, image);
        }

        var (code, output) = CommandLineTests.Ips(["predict", "-c", config, .. overrides, "-w", weights, image]);

        Assert.Equal(1, code);
        Assert.Contains($"error: {image}: config mnist-small.yml: N (4) does not match the patch grid of a 200 x 100 (width x height) image", output);
    }

    [Fact]
    public void A_model_that_does_not_record_its_preprocessing_gets_one_note_for_all_its_inputs()
    {
        var config = CommandLineTests.RepoConfig("mnist-small.yml");
        string[] overrides = ["--set", "N=4", "--set", "patch_size=[50,50]", "--set", "patch_stride=[50,50]", "--set", "M=2", "--set", "I=2"];
        var weights = File("image-model.pt");
        using (var net = new IpsNet(ConfigLoader.Load(config, ["N=4", "patch_size=[50,50]", "patch_stride=[50,50]", "M=2", "I=2"])))
        {
            StateDictIO.Save(net, weights);
        }
        var images = new[] { "a.png", "b.png" }.Select(name =>
        {
            using var pixels = rand(1, 100, 100);
            ImageFile.SaveGray(pixels, File(name));
            return File(name);
        }).ToArray();

        var errors = new StringWriter();
        var written = Console.Error;
        Console.SetError(errors);
        try
        {
            var (code, output) = CommandLineTests.Ips(["predict", "-c", config, .. overrides, "-w", weights, .. images, "--out", File("guessed.json")]);
            Assert.True(code == 0, output);
            (code, output) = CommandLineTests.Ips(["predict", "-c", config, .. overrides, "--set", "test_preprocessing=none", "-w", weights, .. images, "--out", File("recorded.json")]);
            Assert.True(code == 0, output);
        }
        finally
        {
            Console.SetError(written);
        }

        var notes = errors.ToString().Split('\n').Where(line => line.StartsWith("test_preprocessing", StringComparison.Ordinal)).ToList();
        Assert.Equal(
            "test_preprocessing is recorded neither in config mnist-small.yml nor in --weights image-model.pt (training records it in a run's config.yml " +
            "and checkpoints); using none (pixels as they are), the default of a config that is not a traffic-sign model",
            Assert.Single(notes));
        Assert.Equal(System.IO.File.ReadAllText(File("guessed.json")), System.IO.File.ReadAllText(File("recorded.json")));
    }
}
