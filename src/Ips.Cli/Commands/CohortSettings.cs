using System.ComponentModel;
using System.Diagnostics;
using Ips.IO;
using Ips.Slides.Tiling;
using Spectre.Console.Cli;

namespace Ips.Cli.Commands;

/// <summary>
/// How a command that makes one output per slide of a cohort (<c>ips slides tile</c>, <c>ips slides features</c>)
/// shares the cohort with the other tasks of an array job and treats the slides that failed before: see
/// docs/cluster.md.
/// </summary>
public class CohortSettings : PlainSettings
{
    [CommandOption("--shard <K/N>")]
    [Description("Process only the K-th (from 0) of N disjoint, stable subsets of the slides (file-name hash); auto takes K and N from a Slurm array (SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_COUNT) or a Kubernetes Indexed Job (JOB_COMPLETION_INDEX, IPS_TASK_COUNT).")]
    public string? Shard { get; init; }

    [CommandOption("--claim")]
    [Description("Go through the whole cohort, largest slide first, and take every slide no other process has finished or holds, so that the tasks of an array job finish together (instead of --shard).")]
    public bool Claim { get; init; }

    [CommandOption("--retry-failed")]
    [Description("Try again the slides an earlier run failed (NAME.failed in --out): the default.")]
    public bool RetryFailed { get; init; }

    [CommandOption("--skip-failed")]
    [Description("Leave the slides an earlier run failed as failed, reporting their recorded error.")]
    public bool SkipFailed { get; init; }

    /// <summary>The check of these options, for the command's <see cref="CommandSettings.Validate"/>; null when they are fine.</summary>
    protected string? CohortError() =>
        Claim && Shard is not null ? "--claim and --shard exclude each other: --claim shares the whole cohort between the tasks, --shard splits it"
        : RetryFailed && SkipFailed ? "--retry-failed and --skip-failed exclude each other"
        : null;

    /// <summary>Which failures of earlier runs this run tries again: those recorded before this process started, unless <c>--skip-failed</c>.</summary>
    public FailureRetry Failures()
    {
        using var self = Process.GetCurrentProcess();
        return new FailureRetry(!SkipFailed, self.StartTime.ToUniversalTime());
    }

    /// <summary>
    /// The slides of <paramref name="inputs"/> this task goes through, in order (the whole cohort largest first with
    /// <c>--claim</c>, its shard with <c>--shard</c>), the cohort's size, and the words for the header line.
    /// </summary>
    internal (List<string> Slides, int Cohort, string Mode) Slides(IReadOnlyList<string> inputs)
    {
        var shard = Shard is { } text ? SlideShard.Parse(text) : SlideShard.All;
        var (all, slides) = SlideInputs.Find(inputs, shard);
        if (Claim)
        {
            return (SlideClaimOrder.LargestFirst(slides), all.Count, " (claiming, largest first)");
        }
        return (slides, all.Count, shard.Count > 1 ? $" (shard {shard} of {all.Count})" : "");
    }
}
