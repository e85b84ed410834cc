using Ips.IO;

namespace Ips.Slides.Tiling;

/// <summary>Where one slide stands in one step of a cohort.</summary>
public enum SlideState
{
    /// <summary>Its output <c>NAME.h5</c> exists.</summary>
    Done,

    /// <summary>A process holds its lock <c>.NAME.lock</c> (<see cref="SlideStepStatus.Lock"/> says who and whether it is stale).</summary>
    InProgress,

    /// <summary>Its failure is recorded, <c>NAME.failed</c> (<see cref="SlideStepStatus.Failure"/>).</summary>
    Failed,

    /// <summary>None of the above: no run has got to it yet.</summary>
    ToDo,
}

/// <summary>One slide of one step's folder.</summary>
/// <param name="Name">The slide's name (file name without extension).</param>
/// <param name="State">Where it stands.</param>
/// <param name="Lock">Its lock's holder, when in progress.</param>
/// <param name="Failure">Its recorded failure, when failed.</param>
public sealed record SlideStepStatus(string Name, SlideState State, OutputLockState? Lock = null, RecordedFailure? Failure = null);

/// <summary>
/// The state of a cohort in the output folder of one per-slide step (<c>ips slides tile</c>, <c>ips slides features</c>),
/// read from the files the step leaves: <c>NAME.h5</c> when a slide is done, the lock <c>.NAME.lock</c> while a process
/// works on it (<see cref="OutputLock"/>), <c>NAME.failed</c> when it failed (<see cref="FailureRecord"/>). Nothing is
/// opened but lock and failure records, so it is quick on a cohort of thousands of slides.
/// </summary>
public static class CohortStatus
{
    /// <summary>The names of the slides <paramref name="directory"/> knows of: done, locked or failed.</summary>
    public static IEnumerable<string> NamesIn(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        foreach (var file in Directory.EnumerateFiles(directory))
        {
            var fileName = Path.GetFileName(file);
            if (fileName.StartsWith('.') && fileName.EndsWith(".lock", StringComparison.Ordinal))
            {
                yield return fileName[1..^".lock".Length];
            }
            else if (!fileName.StartsWith('.') && (fileName.EndsWith(".h5", StringComparison.Ordinal) || fileName.EndsWith(".failed", StringComparison.Ordinal)))
            {
                yield return Path.GetFileNameWithoutExtension(fileName);
            }
        }
    }

    /// <summary>Where each of <paramref name="names"/> stands in <paramref name="directory"/>, in the order given.</summary>
    public static List<SlideStepStatus> Of(string directory, IEnumerable<string> names)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentNullException.ThrowIfNull(names);
        var states = new List<SlideStepStatus>();
        foreach (var name in names)
        {
            if (File.Exists(Path.Combine(directory, name + ".h5")))
            {
                states.Add(new SlideStepStatus(name, SlideState.Done));
            }
            else if (OutputLock.Inspect(OutputLock.PathFor(directory, name)) is { } holder)
            {
                states.Add(new SlideStepStatus(name, SlideState.InProgress, Lock: holder));
            }
            else if (FailureRecord.Read(directory, name) is { } failure)
            {
                states.Add(new SlideStepStatus(name, SlideState.Failed, Failure: failure));
            }
            else
            {
                states.Add(new SlideStepStatus(name, SlideState.ToDo));
            }
        }
        return states;
    }
}
