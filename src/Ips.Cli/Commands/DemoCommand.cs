using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using Ips.Configuration;
using Ips.Data;
using Ips.Data.MegapixelMnist;
using Ips.Data.Mnist;
using Ips.Imaging;
using Ips.Inference;
using Ips.Training;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Ips.Cli.Commands;

/// <summary>Options of <c>ips demo</c>.</summary>
/// <remarks><c>--config</c> defaults to <c>configs/mnist-small.yml</c>.</remarks>
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
    [Description("Noise scribbles per canvas (1 on 200x200 is the original's density of 50 on 1500x1500).")]
    [DefaultValue(1)]
    public int NNoise { get; init; } = 1;

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
        var config = ConfigLoader.Load(settings.Config ?? DemoSettings.DefaultConfig, settings.Set);
        var plain = settings.UsePlainOutput;

        Step(1, "MNIST digits");
        var mnist = MnistFetcher.EnsureAvailable(MnistFetcher.DefaultCacheDir(), userDir: null);
        AnsiConsole.MarkupLine($"  IDX files in [blue]{Markup.Escape(mnist)}[/]");

        Step(2, "Megapixel MNIST");
        var canvas = config.PatchSize![0] * (int)Math.Round(Math.Sqrt(config.N ?? 0));
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
        AnsiConsole.MarkupLine(CultureInfo.InvariantCulture,
            "[bold]demo done:[/] {0} test accuracy {1:P1} (chance is about 10%) in {2:F0} s wall time; run in [blue]{3}[/]",
            Markup.Escape(config.Tasks[0].Name), accuracy, clock.Elapsed.TotalSeconds, Markup.Escape(settings.RunDir));
        return 0;
    }

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
        var pictures = Path.Combine(settings.RunDir, "predictions");
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
