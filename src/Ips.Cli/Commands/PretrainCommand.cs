using System.ComponentModel;
using System.Globalization;
using Ips.Cli.Hosting;
using Ips.IO;
using Ips.Pretraining;
using Ips.Slides.TileSets;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Ips.Cli.Commands;

/// <summary>Options of <c>ips pretrain byol</c>.</summary>
public sealed class PretrainByolSettings : ConfiguredSettings
{
    [CommandOption("--tiles <DIR_OR_COORDS>")]
    [Description("Tiles to pre-train on: directories of PNG/JPEG/TIFF tiles, or tile coordinates .h5 files (or their folder, from ips slides tile) with --slides (repeatable; default: the config's 'tiles').")]
    public string[] Tiles { get; init; } = [];

    [CommandOption("--slides <DIR>")]
    [Description("Folder of the slides that coordinates files name: NAME.h5 reads slide NAME.tif (or .svs, .ndpi, ...).")]
    public string? Slides { get; init; }

    [CommandOption("--out <RUN>")]
    [Description("Run directory for byol.ckpt, encoder.pt, config.yml, metrics.csv and TensorBoard logs.")]
    public string? Out { get; init; }

    [CommandOption("--init <FILE>")]
    [Description("Initialise the backbone from a torchvision ResNet state_dict (e.g. resnet50-0676ba61.pth); default random.")]
    public string? Init { get; init; }

    [CommandOption("--resume <RUN>")]
    [Description("Continue the run in RUN exactly where it stopped (its byol.ckpt and stored config; --set still applies).")]
    public string? Resume { get; init; }

    /// <inheritdoc />
    public override ValidationResult Validate() =>
        Resume is null && string.IsNullOrWhiteSpace(Out) ? ValidationResult.Error("--out RUN is required (or --resume RUN to continue a run).")
        : Resume is not null && (Out is not null || Init is not null || Tiles.Length > 0 || Slides is not null || Config is not null)
            ? ValidationResult.Error("--resume takes the run's stored config, tiles and weights; use only --set, --device and --plain with it.")
        : ValidationResult.Success();
}

/// <summary><c>ips pretrain byol</c>: BYOL self-supervised pre-training of a ResNet on tiles.</summary>
public sealed class PretrainByolCommand : Command<PretrainByolSettings>
{
    /// <inheritdoc />
    protected override int Execute(CommandContext context, PretrainByolSettings settings, CancellationToken cancellationToken)
    {
        // A new run that fails before its first checkpoint (no tiles, a bad slide) would leave a folder holding only
        // config.yml, which a rerun then refuses as an existing run; a folder that was there before is never touched.
        var fresh = settings.Resume is null && !Directory.Exists(settings.Out) ? settings.Out : null;
        try
        {
            return Run(settings, cancellationToken);
        }
        catch (Exception) when (fresh is not null && Directory.Exists(fresh) && !File.Exists(Path.Combine(fresh, ByolCheckpoint.FileName)))
        {
            Directory.Delete(fresh, recursive: true);
            throw;
        }
    }

    private static int Run(PretrainByolSettings settings, CancellationToken cancellationToken)
    {
        var device = settings.ResolveDevice();
        using var run = settings.Resume is { } resume
            ? ByolRun.Resume(resume, device, settings.Set)
            : ByolRun.Start(settings.Out!, LoadConfig(settings), device, settings.Init);
        var config = run.Trainer.Config;
        using var tiles = TileInputs.Open(config.Tiles, config.Slides);
        var stepsPerEpoch = run.Trainer.StepsPerEpoch(tiles.Count);
        AnsiConsole.MarkupLine(CultureInfo.InvariantCulture,
            "[bold]ips pretrain byol[/]: {0} tiles, {1} backbone, batch {2}, {3} steps/epoch x {4} epochs, peak lr {5:G4}, device {6}, run dir [blue]{7}[/]",
            tiles.Count, config.Backbone, config.BatchSize, stepsPerEpoch, config.Epochs, config.PeakLr, device, Markup.Escape(run.Directory));
        if (run.Trainer.Step > 0)
        {
            AnsiConsole.MarkupLine(CultureInfo.InvariantCulture, "resuming at step {0}", run.Trainer.Step);
        }

        // Ctrl-C or SIGTERM (a cluster's time limit, docker stop) finishes the current step and saves byol.ckpt.
        using var signals = StopSignals.SavingCheckpoint(cancellationToken, ByolCheckpoint.FileName);
        if (!Train(settings.UsePlainOutput, run, tiles, signals.Token))
        {
            AnsiConsole.MarkupLine($"stopped; {ByolCheckpoint.FileName} saved; continue with [blue]ips pretrain byol --resume {Markup.Escape(run.Directory)}[/]");
            return signals.ExitCode;
        }
        AnsiConsole.MarkupLine(CultureInfo.InvariantCulture, "done: last loss {0:F4}; encoder in [blue]{1}[/], checkpoint [blue]{2}[/]",
            run.Trainer.LastLoss, Markup.Escape(run.EncoderPath), Markup.Escape(run.CheckpointPath));
        return 0;
    }

    private static ByolConfig LoadConfig(PretrainByolSettings settings)
    {
        var overrides = settings.Set.ToList();
        if (settings.Tiles.Length > 0)
        {
            // --tiles replaces the config's list; quoted so that any path reads back as text.
            overrides.Add("tiles=[" + string.Join(", ", settings.Tiles.Select(Quote)) + "]");
        }
        if (settings.Slides is not null)
        {
            overrides.Add("slides=" + Quote(settings.Slides));
        }
        return settings.Config is null ? ByolConfigLoader.Parse("", "(defaults)", overrides) : ByolConfigLoader.Load(settings.Config, overrides);
    }

    private static string Quote(string text) => "'" + text.Replace("'", "''", StringComparison.Ordinal) + "'";

    private static bool Train(bool plain, ByolRun run, ITileSet tiles, CancellationToken cancel)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var firstStep = run.Trainer.Step;
        double Rate(ByolProgress p) => (p.Step - firstStep) / Math.Max(1e-9, clock.Elapsed.TotalSeconds);
        string Describe(ByolProgress p) => string.Create(CultureInfo.InvariantCulture,
            $"epoch {p.Epoch + 1}/{run.Trainer.Config.Epochs} step {p.Done}/{p.StepsPerEpoch} loss {p.Loss:F4} tau {p.Tau:F5} lr {p.Lr:G3} {Rate(p):F2} steps/s");

        if (plain)
        {
            var lastPrinted = DateTime.MinValue;
            run.Progress = new SynchronousProgress<ByolProgress>(p =>
            {
                // A line at most every 10 s, plus the end of each epoch, keeps logs short.
                if (p.Done == p.StepsPerEpoch || DateTime.UtcNow - lastPrinted > TimeSpan.FromSeconds(10))
                {
                    lastPrinted = DateTime.UtcNow;
                    Console.WriteLine(Describe(p));
                }
            });
            return run.Run(tiles, cancel);
        }

        var complete = false;
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(LiveRow.Columns(AnsiConsole.Profile.Width))
            .Start(context =>
            {
                var task = context.AddTask("byol", maxValue: 1);
                run.Progress = new SynchronousProgress<ByolProgress>(p =>
                {
                    task.MaxValue = p.TotalSteps;
                    task.Value = p.Step;
                    task.Description = LiveRow.Describe(Describe(p), AnsiConsole.Profile.Width);
                });
                complete = run.Run(tiles, cancel);
            });
        return complete;
    }
}
