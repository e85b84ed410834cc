using System.ComponentModel;
using System.Globalization;
using Ips.Encoders;
using Ips.Features;
using Ips.IO;
using Ips.Native;
using Ips.Slides.Tiling;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Ips.Cli.Commands;

/// <summary>Options of <c>ips slides features</c>.</summary>
public sealed class SlidesFeaturesSettings : CohortSettings
{
    [CommandArgument(0, "<SLIDE_OR_DIR>")]
    [Description("Slides (.tif, .svs, ...) or folders searched (with their subfolders) for slides.")]
    public string[] Inputs { get; init; } = [];

    [CommandOption("--coords <DIR>")]
    [Description("Tile coordinates written by `ips slides tile` (NAME.h5 per slide).")]
    public string? Coords { get; init; }

    [CommandOption("--encoder <FILE_DIR_OR_PRESET>")]
    [Description("byol.ckpt from `ips pretrain byol`, a torchvision resnet50/resnet18 state_dict (.pth), a model folder (config.json + model.safetensors or pytorch_model.bin: timm or transformers ViT/DINOv2), or a preset (uni, uni2-h, virchow, ...; see `ips encoders`) with --encoder-weights.")]
    public string? Encoder { get; init; }

    [CommandOption("--encoder-weights <FILE_OR_DIR>")]
    [Description("With a preset --encoder: its published weights file, or the folder holding it.")]
    public string? EncoderWeights { get; init; }

    [CommandOption("--pool <POOL>")]
    [Description("A vision transformer's pooling instead of its config's: token, avg or token+avg (recorded in the feature files).")]
    public string? Pool { get; init; }

    [CommandOption("-o|--out <DIR>")]
    [Description("Folder for one NAME.h5 per slide (CLAM/TRIDENT layout: features, coords).")]
    public string? Out { get; init; }

    [CommandOption("--normalize <MODE>")]
    [Description("auto (as the encoder was trained: the BYOL checkpoint's mean/std, ImageNet's for .pth), imagenet, or none ([0, 1] pixels, as the official extraction).")]
    [DefaultValue("auto")]
    public string Normalisation { get; init; } = "auto";

    [CommandOption("--batch-size <N>")]
    [Description("Tiles encoded at once.")]
    [DefaultValue(64)]
    public int BatchSize { get; init; } = 64;

    [CommandOption("--workers <N>")]
    [Description("Threads decoding tiles.")]
    [DefaultValue(2)]
    public int Workers { get; init; } = 2;

    [CommandOption("--gzip")]
    [Description("Compress the features (gzip, as h5py's compression='gzip').")]
    public bool Gzip { get; init; }

    [CommandOption("--overwrite")]
    [Description("Redo slides whose feature file in --out records another encoder or tiling, or none (by default such a folder is refused).")]
    public bool Overwrite { get; init; }

    [CommandOption("--verbose")]
    [Description("On encoder weights that do not match the architecture, list every mismatched key (otherwise the count and the first three).")]
    public bool Verbose { get; init; }

    [CommandOption("--device <DEVICE>")]
    [Description("auto (CUDA when available), cpu, cuda or cuda:N.")]
    [DefaultValue("auto")]
    public string Device { get; init; } = "auto";

    /// <inheritdoc />
    public override ValidationResult Validate() =>
        Coords is null ? ValidationResult.Error("--coords DIR is required (the output of `ips slides tile`).")
        : Encoder is null ? ValidationResult.Error("--encoder is required (byol.ckpt, a torchvision .pth, a model folder, or a preset with --encoder-weights).")
        : Out is null ? ValidationResult.Error("--out DIR is required.")
        : CohortError() is { } error ? ValidationResult.Error(error)
        : SlideOptionChecks.Features(BatchSize, Workers, Shard, Out);
}

/// <summary><c>ips slides features</c>: per-slide tile features with a frozen encoder, resumable and shardable.</summary>
public sealed class SlidesFeaturesCommand : Command<SlidesFeaturesSettings>
{
    /// <inheritdoc />
    protected override int Execute(CommandContext context, SlidesFeaturesSettings settings, CancellationToken cancellationToken)
    {
        var failures = settings.Failures();
        var (slides, cohort, mode) = settings.Slides(settings.Inputs);
        if (slides.Count == 0)
        {
            Console.WriteLine($"shard {settings.Shard} holds none of the {cohort} slide(s); nothing to do");
            return 0;
        }
        // The encoder first: a wrong --encoder leaves no empty --out folder behind.
        using var encoder = TileEncoder.Open(
            new EncoderChoice(settings.Encoder!, settings.EncoderWeights, settings.Pool, settings.Normalisation), TorchRuntime.ResolveDevice(settings.Device));
        Directory.CreateDirectory(settings.Out!);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"embedding {slides.Count} slide(s){mode} with {encoder.Identity.Name} ({encoder.OutputDim}-d, normalisation {encoder.Normalisation}{(encoder.Identity.Pool is { } pool ? ", pool " + pool : "")}) into {settings.Out}"));
        FeatureFolderCheck.RefuseOtherFeatures(slides, settings.Coords!, settings.Out!, encoder.Identity, settings.Overwrite);

        // Ctrl-C or SIGTERM stops at the next batch; the slide in progress leaves no file.
        using var signals = StopSignals.DroppingUnfinishedSlide(cancellationToken);
        var total = System.Diagnostics.Stopwatch.StartNew();
        var tiles = 0L;
        var (embedded, skipped, failed) = (0, 0, 0);
        try
        {
            for (var i = 0; i < slides.Count; i++)
            {
                signals.Token.ThrowIfCancellationRequested();
                var name = SlideTilingJob.Name(slides[i]);
                var clock = System.Diagnostics.Stopwatch.StartNew();
                // A progress line ("so far") only for a slide still running after 10 s: a quick slide gets its one result line.
                var lastPrinted = DateTime.UtcNow;
                var progress = new SynchronousProgress<int>(done =>
                {
                    if (DateTime.UtcNow - lastPrinted > TimeSpan.FromSeconds(10))
                    {
                        lastPrinted = DateTime.UtcNow;
                        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                            $"  {name}: {done} tiles so far, {done / Math.Max(1e-9, clock.Elapsed.TotalSeconds):F1} tiles/s"));
                    }
                });
                SlideFeaturesResult result;
                try
                {
                    result = FeatureExtraction.ExtractSlide(
                        slides[i], settings.Coords!, settings.Out!, encoder, settings.BatchSize, settings.Workers, settings.Gzip, settings.Overwrite,
                        progress, signals.Token, failures);
                }
                catch (Exception error) when (error is InvalidDataException or IOException or UnauthorizedAccessException or ArgumentException)
                {
                    // The slide's failure is recorded (NAME.failed) and the others still run, as in `slides tile`.
                    failed++;
                    AnsiConsole.MarkupLine($"[red]error:[/] {Markup.Escape(error.Message)}");
                    continue;
                }
                if (result.FailedBefore is { } why)
                {
                    failed++;
                    AnsiConsole.MarkupLine($"[red]error:[/] {Markup.Escape(why)}");
                    continue;
                }
                tiles += result.Tiles;
                (embedded, skipped) = result.Skipped ? (embedded, skipped + 1) : (embedded + 1, skipped);
                Console.WriteLine(result.BusyWith is { } holder
                    ? $"[{i + 1}/{slides.Count}] {name}: being embedded by another process now ({holder}), skipped"
                    : result.Skipped
                    ? $"[{i + 1}/{slides.Count}] {name}: done before, skipped"
                    : string.Create(CultureInfo.InvariantCulture,
                        $"[{i + 1}/{slides.Count}] {name}: {result.Tiles} tiles in {result.Seconds:F1} s ({result.Tiles / Math.Max(1e-9, result.Seconds):F1} tiles/s)"));
            }
        }
        catch (OperationCanceledException) when (signals.Token.IsCancellationRequested)
        {
            AnsiConsole.MarkupLine(CultureInfo.InvariantCulture,
                "[yellow]stopped[/]: {0} of {1} slide(s) finished ({2} embedded now with {3} tiles, {4} before); the slide in progress left no file. Run the same command again to continue.",
                embedded + skipped, slides.Count, embedded, tiles, skipped);
            return signals.ExitCode;
        }
        AnsiConsole.MarkupLine(CultureInfo.InvariantCulture, "embedded {0} tiles in {1:F1} s; features in [blue]{2}[/]",
            tiles, total.Elapsed.TotalSeconds, Markup.Escape(settings.Out!));
        if (failed > 0)
        {
            AnsiConsole.MarkupLine(CultureInfo.InvariantCulture, "[red]{0} of {1} slide(s) failed[/]; the others are done.", failed, slides.Count);
            return 1;
        }
        return 0;
    }
}
