using System.ComponentModel;
using System.Globalization;
using Ips.Configuration;
using Ips.Data;
using Ips.Data.OwnImages;
using Ips.Training;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Ips.Cli.Commands;

/// <summary>Options of <c>ips train</c>.</summary>
public sealed class TrainSettings : ModelSettings
{
    [CommandOption("--run-dir <DIR>")]
    [Description("Directory for checkpoints, metrics.csv, curves.png and TensorBoard logs (default runs/<config name>).")]
    public string? RunDir { get; init; }

    [CommandOption("--resume <DIR>")]
    [Description("Continue the run in DIR exactly where it stopped (its last.ckpt and stored config; --set still applies).")]
    public string? Resume { get; init; }

    [CommandOption("--dry-run")]
    [Description("Check the config, the data set and the run directory, print what the run would use, and write nothing.")]
    public bool DryRun { get; init; }

    [CommandOption("--skip-bad")]
    [Description("Your own images: leave out the images the data check finds problems with (each is named) instead of refusing to train.")]
    public bool SkipBad { get; init; }

    [CommandOption("--checkpoint-every <INTERVAL>")]
    [Description("Also write last.ckpt within an epoch every INTERVAL: a time (90s, 10m, 1.5h), a number of optimiser steps (500steps) or off. A kill -9 loses at most that much work.")]
    [DefaultValue("10m")]
    public string CheckpointEvery { get; init; } = "10m";

    /// <summary>The parsed --checkpoint-every.</summary>
    public CheckpointInterval CheckpointInterval => CheckpointInterval.Parse(CheckpointEvery);

    /// <inheritdoc />
    public override ValidationResult Validate()
    {
        if (Resume is null && string.IsNullOrWhiteSpace(Config))
        {
            return ValidationResult.Error("--config is required (or --resume RUN_DIR to continue a run).");
        }
        try
        {
            _ = CheckpointInterval;
        }
        catch (ArgumentException error)
        {
            return ValidationResult.Error(error.Message);
        }
        return ValidationResult.Success();
    }
}

/// <summary><c>ips train</c>: trains on the config's data set with progress, logs and resumable checkpoints.</summary>
public sealed class TrainCommand : Command<TrainSettings>
{
    /// <inheritdoc />
    protected override int Execute(CommandContext context, TrainSettings settings, CancellationToken cancellationToken)
    {
        if (settings.DryRun)
        {
            return DryRun(settings);
        }
        var device = settings.ResolveDevice();
        // A new run checks its data before it creates anything, so bad images leave no run directory behind.
        var config = settings.Resume is null ? settings.LoadConfig() : null;
        (IIpsDataset Train, IIpsDataset Test)? checkedData = config is null ? null
            : (DatasetCatalog.Open(config, train: true, settings.SkipBad), DatasetCatalog.Open(config, train: false, settings.SkipBad));
        using var run = settings.Resume is { } resume
            ? TrainingRun.Resume(resume, device, settings.Set)
            : TrainingRun.Start(settings.RunDir ?? DefaultRunDirectory(settings.Config!), config!, device);
        run.CheckpointEvery = settings.CheckpointInterval;
        var train = checkedData?.Train ?? DatasetCatalog.Open(run.Config, train: true, settings.SkipBad);
        var test = checkedData?.Test ?? DatasetCatalog.Open(run.Config, train: false, settings.SkipBad);
        foreach (var problem in new[] { train, test }.OfType<ICheckedDataset>().SelectMany(d => d.Problems))
        {
            AnsiConsole.WriteLine($"skipped: {problem}");
        }

        AnsiConsole.MarkupLine(CultureInfo.InvariantCulture,
            "[bold]ips train[/] {0}: {1} training / {2} test images, mode {3}, device {4}, run dir [blue]{5}[/]",
            Markup.Escape(Path.GetFileName(run.Config.Source)), train.Count, test.Count, run.Trainer.Mode, device, Markup.Escape(run.Directory));
        foreach (var note in run.Trainer.Notes)
        {
            AnsiConsole.WriteLine(note);
        }
        if (run.Trainer.Epoch > 0 || run.Trainer.IterationsDoneInEpoch > 0)
        {
            AnsiConsole.MarkupLine(CultureInfo.InvariantCulture, "resuming at epoch {0}, iteration {1}, step {2}",
                run.Trainer.Epoch + 1, run.Trainer.IterationsDoneInEpoch, run.Trainer.Step);
        }

        using var signals = StopSignals.SavingCheckpoint(cancellationToken, TrainingRun.LastCheckpoint);
        while (!run.IsComplete)
        {
            var report = EpochProgress.Run(settings.UsePlainOutput, run, train, test, signals.Token);
            if (report is null)
            {
                AnsiConsole.MarkupLine($"stopped; {TrainingRun.LastCheckpoint} saved; continue with [blue]ips train --resume {Markup.Escape(run.Directory)}[/]");
                return signals.ExitCode;
            }
            AnsiConsole.WriteLine(RunLog.FormatTable(report.Record, run.Config.Tasks) + (report.IsBest ? "  (best so far)" : ""));
            if (run.Trainer.Efficiency is { } efficiency && report.Record.Epoch - 1 == run.Config.TrackEpoch && run.Config.TrackEfficiency)
            {
                AnsiConsole.WriteLine("efficiency: " + efficiency);
            }
        }
        AnsiConsole.MarkupLine(CultureInfo.InvariantCulture, "done: best {0} {1:F4}; checkpoints and logs in [blue]{2}[/]",
            Markup.Escape(run.Config.Tasks[0].Name), run.BestMetric, Markup.Escape(run.Directory));
        return 0;
    }

    private static int DryRun(TrainSettings settings)
    {
        var directory = settings.Resume ?? settings.RunDir ?? DefaultRunDirectory(settings.Config!);
        var config = settings.Resume is { } resume
            ? ConfigLoader.Parse(Checkpoint.ReadConfigYaml(Path.Combine(resume, TrainingRun.LastCheckpoint)), Path.Combine(resume, TrainingRun.LastCheckpoint), settings.Set)
            : settings.LoadConfig();
        settings.ResolveDevice();
        var problems = ConfigReport.Write(config);
        ConfigReport.WriteRunDirectory(directory);
        return problems == 0 || settings.SkipBad ? 0 : 1;
    }

    private static string DefaultRunDirectory(string config) => Path.Combine("runs", Path.GetFileNameWithoutExtension(config));
}
