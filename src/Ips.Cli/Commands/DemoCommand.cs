using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using Ips.Bench;
using Ips.Configuration;
using Ips.Data;
using Ips.Data.MegapixelMnist;
using Ips.Data.Mnist;
using Ips.Imaging;
using Ips.Inference;
using Ips.IO;
using Ips.Native;
using Ips.Training;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Ips.Cli.Commands;

/// <summary>Options of <c>ips demo</c>.</summary>
/// <remarks><c>--config</c> defaults to <c>configs/mnist-small.yml</c>, found from any working directory (<see cref="ShippedFiles"/>).</remarks>
public sealed class DemoSettings : ModelSettings
{
    /// <summary>The config used when --config is not given.</summary>
    public const string DefaultConfig = "configs/mnist-small.yml";

    [CommandOption("--run-dir <DIR>")]
    [Description("Where the run, its checkpoints and the prediction pictures go.")]
    [DefaultValue("runs/demo")]
    public string RunDir { get; init; } = "runs/demo";

    [CommandOption("--n-train <N>")]
    [Description("Training images to generate.")]
    [DefaultValue(7000)]
    public int NTrain { get; init; } = 7000;

    [CommandOption("--n-test <N>")]
    [Description("Test images to generate.")]
    [DefaultValue(300)]
    public int NTest { get; init; } = 300;

    [CommandOption("--n-noise <N>")]
    [Description("Noise scribbles per canvas (the original draws 50 on 1500x1500 canvases; the demo's 98x98 ones get 1).")]
    [DefaultValue(1)]
    public int NNoise { get; init; } = 1;

    [CommandOption("--seed <SEED>")]
    [Description("Seed of the generated canvases and of the training run (the config's seed, 0 in configs/mnist-small.yml): each seed draws other canvases and another initialisation.")]
    public int? Seed { get; init; }

    [CommandOption("--predict <N>")]
    [Description("Test images to predict and draw attention maps for.")]
    [DefaultValue(4)]
    public int Predict { get; init; } = 4;

}

/// <summary>
/// <c>ips demo</c>: the worked example, end to end on a CPU in minutes: fetch MNIST, generate a small Megapixel
/// MNIST, train the small config, evaluate, and predict a few test images with attention pictures.
/// </summary>
public sealed class DemoCommand : Command<DemoSettings>
{
    /// <inheritdoc />
    protected override int Execute(CommandContext context, DemoSettings settings, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var device = settings.ResolveDevice();
        var config = ConfigLoader.Load(settings.Config ?? ShippedFiles.Find(DemoSettings.DefaultConfig), settings.Set);
        if (settings.Seed is { } seed)
        {
            config = config with { Seed = seed };
        }
        var plain = settings.UsePlainOutput;

        // The allocator and how OpenMP threads wait decide much of a CPU step's time (docs/performance.md, "The demo"):
        // the first command on a fresh machine runs before ./run-tests installs libjemalloc2, and the wait follows the
        // machine's load, so it says which it got.
        AnsiConsole.MarkupLine($"[grey]memory allocator: {Markup.Escape(ProcessAllocator.State.ToString())}[/]");
        var threads = $"({TorchSharp.torch.get_num_threads()}) wait: {OpenMpWaitPolicy.State}";
        AnsiConsole.MarkupLine($"[grey]OpenMP threads {Markup.Escape(threads)}[/]");
        Step(1, "MNIST digits");
        var mnist = MnistFetcher.EnsureAvailable(MnistFetcher.DefaultCacheDir(), userDir: null);
        AnsiConsole.MarkupLine($"  IDX files in [blue]{Markup.Escape(mnist)}[/]");

        Step(2, "Megapixel MNIST");
        var canvas = MegapixelMnistOptions.CanvasSideFor(config);
        var options = new MegapixelMnistOptions
        {
            NTrain = settings.NTrain, NTest = settings.NTest, Width = canvas, Height = canvas,
            Noise = settings.NNoise > 0, NNoise = settings.NNoise, Seed = config.Seed,
        };
        EnsureDataset(config.DataDir, options, mnist, cancellationToken);
        AnsiConsole.MarkupLine(CultureInfo.InvariantCulture, "  {0} training and {1} test canvases of {2}x{2} in [blue]{3}[/]",
            options.NTrain, options.NTest, canvas, Markup.Escape(config.DataDir));

        Step(3, $"training {Path.GetFileName(config.Source)} for {config.NEpoch} epochs");
        if (Directory.Exists(settings.RunDir))
        {
            Directory.Delete(settings.RunDir, recursive: true);
        }
        IReadOnlyDictionary<string, TaskScores>? finalScores = null;
        using (var run = TrainingRun.Start(settings.RunDir, config, device))
        {
            var train = DatasetCatalog.Open(config, train: true);
            var test = DatasetCatalog.Open(config, train: false);
            foreach (var note in run.Trainer.Notes)
            {
                AnsiConsole.MarkupLine($"  [grey]{Markup.Escape(note)}[/]");
            }
            while (!run.IsComplete)
            {
                var report = EpochProgress.Run(plain, run, train, test, cancellationToken)
                    ?? throw new OperationCanceledException("demo stopped");
                finalScores = report.Record.Test!;
                var majority = finalScores[config.Tasks[0].Name];
                AnsiConsole.MarkupLine(CultureInfo.InvariantCulture,
                    "  epoch {0,2}/{1}: train loss {2:F3}, test {3} {4} {5:P1}  [grey]({6:F0} s)[/]",
                    report.Record.Epoch, config.NEpoch, report.Record.Train.Values.Average(s => s.Loss),
                    Markup.Escape(config.Tasks[0].Name), config.Tasks[0].Metric, majority.Metric, clock.Elapsed.TotalSeconds);
            }
        }

        // The last epoch's evaluation is the final model's test evaluation; running it again would repeat it exactly.
        Step(4, "the final model on the test set");
        var weights = Path.Combine(settings.RunDir, TrainingRun.LastCheckpoint);
        var table = new Table().AddColumn("task").AddColumn("metric").AddColumn("test");
        foreach (var task in config.Tasks)
        {
            table.AddRow(task.Name, task.Metric, finalScores![task.Name].Metric.ToString("P1", CultureInfo.InvariantCulture));
        }
        AnsiConsole.Write(table);

        Step(5, $"predicting {settings.Predict} test images");
        var predictions = PredictSamples(config, weights, device, settings);
        foreach (var (prediction, truth) in predictions)
        {
            var majority = prediction.Probabilities[config.Tasks[0].Name];
            var guess = Array.IndexOf(majority, majority.Max());
            AnsiConsole.MarkupLine(CultureInfo.InvariantCulture, "  {0}: majority {1} (p {2:F2}), truth {3}; attention map [blue]{4}[/]",
                Markup.Escape(Path.GetFileName(prediction.Input)), guess, majority.Max(), truth, Markup.Escape(prediction.AttentionMap ?? "-"));
        }

        var accuracy = finalScores![config.Tasks[0].Name].Metric;
        var pictures = Path.Combine(settings.RunDir, PicturesFolder);
        new DemoSummary(config.Seed, clock.Elapsed.TotalSeconds, config.Tasks.ToDictionary(t => t.Name, t => finalScores[t.Name].Metric),
            Path.GetFullPath(pictures), threads, ProcessAllocator.State.ToString()).Write(settings.RunDir);
        AnsiConsole.MarkupLine(CultureInfo.InvariantCulture,
            "[bold]demo done:[/] {0} test accuracy {1:P1} (chance is about 10%; {2}) in {3:F0} s wall time; attention pictures in [blue]{4}[/], run in [blue]{5}[/]",
            Markup.Escape(config.Tasks[0].Name), accuracy,
            string.Join(", ", config.Tasks.Skip(1).Select(t => string.Create(CultureInfo.InvariantCulture, $"{t.Name} {finalScores[t.Name].Metric:P1}"))),
            clock.Elapsed.TotalSeconds, Markup.Escape(pictures), Markup.Escape(settings.RunDir));
        return 0;
    }

    private const string PicturesFolder = "predictions";

    private static void Step(int number, string title) =>
        AnsiConsole.MarkupLine(CultureInfo.InvariantCulture, "[bold]{0}/5[/] {1}", number, Markup.Escape(title));

    /// <summary>Generates the data set unless the directory already holds one made with the same options.</summary>
    private static void EnsureDataset(string directory, MegapixelMnistOptions options, string mnist, CancellationToken cancel)
    {
        if (File.Exists(Path.Combine(directory, MegapixelMnistParameters.FileName)) &&
            MegapixelMnistParameters.Read(directory).Describes(options))
        {
            return;
        }
        MegapixelMnistGenerator.WriteDataset(directory, IdxReader.Load(mnist, train: true), IdxReader.Load(mnist, train: false), options, progress: null, cancel);
    }

    /// <summary>Saves a few test canvases as PNG files and predicts them through the same path as <c>ips predict</c>.</summary>
    private static List<(Prediction Prediction, int Truth)> PredictSamples(IpsConfig config, string weights, TorchSharp.torch.Device device, DemoSettings settings)
    {
        var parameters = MegapixelMnistParameters.Read(config.DataDir);
        var split = MegapixelMnistSplit.Read(Path.Combine(config.DataDir, parameters.TestFile));
        var pictures = Path.Combine(settings.RunDir, PicturesFolder);
        Directory.CreateDirectory(pictures);
        using var predictor = new Predictor(config, weights, device);
        var results = new List<(Prediction, int)>();
        for (var i = 0; i < Math.Min(settings.Predict, split.Samples.Count); i++)
        {
            var png = Path.Combine(pictures, $"test-{i}.png");
            using (var canvas = split.Render(i))
            {
                ImageFile.SaveGray(canvas, png);
            }
            results.Add((predictor.Predict(png, pictures), split.Samples[i].Majority));
        }
        return results;
    }
}

