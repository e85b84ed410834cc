using System.Globalization;
using Ips.Data;
using Ips.IO;
using Ips.Training;
using Spectre.Console;

namespace Ips.Cli.Commands;

/// <summary>Runs one epoch of a training run with live progress bars (rate and ETA) or plain lines.</summary>
internal static class EpochProgress
{
    /// <summary>Trains and evaluates one epoch; null when stopped.</summary>
    public static EpochReport? Run(bool plain, TrainingRun run, IIpsDataset train, IIpsDataset test, CancellationToken cancel)
    {
        var epochs = run.Config.NEpoch;
        var pass = System.Diagnostics.Stopwatch.StartNew();
        var phase = "";
        var firstDone = 0;
        // Iterations per second since the first report of the current pass (train or test); the first report of a
        // pass only starts the clock, since the time before it is unknown here.
        double Rate(PassProgress p)
        {
            if (p.Phase != phase)
            {
                (phase, firstDone) = (p.Phase, p.Done);
                pass.Restart();
            }
            return p.Done == firstDone ? 0 : (p.Done - firstDone) / pass.Elapsed.TotalSeconds;
        }

        if (plain)
        {
            var lastPrinted = DateTime.MinValue;
            run.Trainer.Progress = new SynchronousProgress<PassProgress>(p =>
            {
                // A line at most every 10 s, plus the end of each pass, keeps CI logs short.
                var rate = Rate(p);
                if (p.Done == p.Total || DateTime.UtcNow - lastPrinted > TimeSpan.FromSeconds(10))
                {
                    lastPrinted = DateTime.UtcNow;
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"epoch {p.Epoch + 1}/{epochs} {p.Phase} {p.Done}/{p.Total} loss {p.Loss:F4} {FormatRate(rate)}"));
                }
            });
            return run.RunEpoch(train, test, cancel);
        }

        EpochReport? report = null;
        AnsiConsole.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(context =>
            {
                var overall = context.AddTask("run", maxValue: epochs);
                overall.Value = run.Trainer.Epoch;
                var trainTask = context.AddTask($"epoch {run.Trainer.Epoch + 1}/{epochs} train", maxValue: 1);
                var testTask = context.AddTask("test", maxValue: 1, autoStart: false);
                run.Trainer.Progress = new SynchronousProgress<PassProgress>(p =>
                {
                    var task = p.Phase == "train" ? trainTask : testTask;
                    var rate = Rate(p);
                    if (!task.IsStarted)
                    {
                        task.StartTask();
                    }
                    task.MaxValue = p.Total;
                    task.Value = p.Done;
                    task.Description = string.Create(CultureInfo.InvariantCulture, $"epoch {p.Epoch + 1}/{epochs} {p.Phase} loss {p.Loss:F3}, {FormatRate(rate)}");
                    if (p.Phase == "train")
                    {
                        overall.Value = p.Epoch + (double)p.Done / p.Total;
                    }
                });
                report = run.RunEpoch(train, test, cancel);
            });
        run.Trainer.Progress = null;
        return report;
    }

    /// <summary>Iterations per second, or seconds per iteration when slower than one a second (0.05 it/s reads badly).</summary>
    internal static string FormatRate(double perSecond) => perSecond switch
    {
        <= 0 => "- it/s",
        < 1 => string.Create(CultureInfo.InvariantCulture, $"{1 / perSecond:F2} s/it"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{perSecond:F2} it/s"),
    };
}
