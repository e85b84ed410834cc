using System.ComponentModel;
using System.Globalization;
using Ips.Slides;
using Ips.Slides.Tiling;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Ips.Cli.Commands;

/// <summary>Options of <c>ips slides status</c>.</summary>
public sealed class SlidesStatusSettings : PlainSettings
{
    [CommandArgument(0, "<OUT_DIR>")]
    [Description("Output folders of `ips slides tile` or `ips slides features` (one per step), e.g. out/tiles out/features.")]
    public string[] Folders { get; init; } = [];

    [CommandOption("--slides <SLIDE_OR_DIR>")]
    [Description("The cohort (slides or folders, as given to the steps), so that slides no step has reached count as to do; by default the slides any of the folders knows of.")]
    public string[]? Slides { get; init; }

    /// <inheritdoc />
    public override ValidationResult Validate() =>
        Folders.Length == 0 ? ValidationResult.Error("give at least one output folder of `ips slides tile` or `ips slides features`.") : ValidationResult.Success();
}

/// <summary>
/// <c>ips slides status</c>: per step folder, which slides are done, in progress (by whom, since when), failed (with the
/// recorded error) or still to do, and the totals; read from the files the steps leave, so it works while array jobs
/// run on other hosts.
/// </summary>
public sealed class SlidesStatusCommand : Command<SlidesStatusSettings>
{
    /// <inheritdoc />
    protected override int Execute(CommandContext context, SlidesStatusSettings settings, CancellationToken cancellationToken)
    {
        foreach (var folder in settings.Folders)
        {
            if (!Directory.Exists(folder))
            {
                throw new DirectoryNotFoundException($"{folder}: output folder not found");
            }
        }
        var names = settings.Slides is { Length: > 0 } inputs
            ? SlideInputs.Find(inputs, SlideShard.All).All.Select(SlideTilingJob.Name).ToList()
            : [.. settings.Folders.SelectMany(CohortStatus.NamesIn).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
        var totals = new Dictionary<SlideState, int>();
        foreach (var folder in settings.Folders)
        {
            var states = CohortStatus.Of(folder, names);
            foreach (var state in states)
            {
                totals[state.State] = totals.GetValueOrDefault(state.State) + 1;
            }
            Console.WriteLine($"{folder}: {Counts(states.GroupBy(s => s.State).ToDictionary(g => g.Key, g => g.Count()), names.Count)}");
            foreach (var state in states.Where(s => s.State != SlideState.Done))
            {
                Console.WriteLine($"  {Describe(state)}");
            }
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"total: {Counts(totals, names.Count * settings.Folders.Length)} ({settings.Folders.Length} step(s) x {names.Count} slide(s))"));
        if (names.Count > 0 && totals.GetValueOrDefault(SlideState.Done) == names.Count * settings.Folders.Length)
        {
            Console.WriteLine("all done");
        }
        return 0;
    }

    private static string Counts(Dictionary<SlideState, int> counts, int of) => string.Create(CultureInfo.InvariantCulture,
        $"{counts.GetValueOrDefault(SlideState.Done)} done, {counts.GetValueOrDefault(SlideState.InProgress)} in progress, {counts.GetValueOrDefault(SlideState.Failed)} failed, {counts.GetValueOrDefault(SlideState.ToDo)} to do, of {of}");

    private static string Describe(SlideStepStatus state) => state.State switch
    {
        SlideState.InProgress when state.Lock is { Stale: true } holder => string.Create(CultureInfo.InvariantCulture,
            $"in progress  {state.Name}: stale lock of {holder.Description}, last heartbeat {Ago(holder.Heartbeat)}; the next run takes it over"),
        SlideState.InProgress => string.Create(CultureInfo.InvariantCulture,
            $"in progress  {state.Name}: since {state.Lock!.Claimed:yyyy-MM-dd HH:mm:ss} UTC, {state.Lock.Description}, last heartbeat {Ago(state.Lock.Heartbeat)}"),
        SlideState.Failed => string.Create(CultureInfo.InvariantCulture,
            $"failed       {state.Name}: {state.Failure!.Message} (on {state.Failure.Host}, {state.Failure.Recorded:yyyy-MM-dd HH:mm:ss} UTC)"),
        _ => $"to do        {state.Name}",
    };

    private static string Ago(DateTime utc) =>
        string.Create(CultureInfo.InvariantCulture, $"{Math.Max(0, (DateTime.UtcNow - utc).TotalSeconds):F0} s ago");
}
