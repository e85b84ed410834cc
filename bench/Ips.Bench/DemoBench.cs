using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Ips.IO;

namespace Ips.Bench;

/// <summary>What <c>ips demo</c> reached, as it writes it to <see cref="FileName"/> in its run folder and the demo part reads it.</summary>
/// <param name="Seed">The seed of the canvases and the run.</param>
/// <param name="WallSeconds">From the command's start to its result, data generation and prediction included.</param>
/// <param name="TestMetrics">Each task's test metric after the last epoch (accuracy, or multi-label accuracy).</param>
/// <param name="Pictures">The folder of the attention pictures.</param>
/// <param name="Threads">libtorch's threads and how they wait (<c>OpenMpWaitPolicy.State</c>), chosen per process from the load.</param>
/// <param name="Allocator">The memory allocator the process ran on (<c>ProcessAllocator.State</c>).</param>
public sealed record DemoSummary(int Seed, double WallSeconds, IReadOnlyDictionary<string, double> TestMetrics, string Pictures,
    string Threads, string Allocator)
{
    /// <summary>The summary's file name in the demo's run folder.</summary>
    public const string FileName = "demo-summary.json";

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>Writes the summary into <paramref name="runDirectory"/>, atomically.</summary>
    public void Write(string runDirectory) =>
        AtomicFile.Write(Path.Combine(runDirectory, FileName), path => File.WriteAllText(path, JsonSerializer.Serialize(this, Json)));

    /// <summary>Reads the summary a demo wrote into <paramref name="runDirectory"/>.</summary>
    /// <exception cref="InvalidDataException">The file is missing or not such a summary.</exception>
    public static DemoSummary Read(string runDirectory)
    {
        var path = Path.Combine(runDirectory, FileName);
        try
        {
            return JsonSerializer.Deserialize<DemoSummary>(File.ReadAllText(path), Json)
                ?? throw new InvalidDataException($"{path}: the JSON is null, not a demo summary.");
        }
        catch (Exception error) when (error is JsonException or IOException)
        {
            throw new InvalidDataException($"{path}: no demo summary ({error.Message}).", error);
        }
    }
}

/// <summary>The demo part of the report: one row per seed.</summary>
public sealed record DemoPart
{
    /// <summary>What each run was: the command and the allocator it ran on.</summary>
    public string Setup { get; init; } = "";

    /// <summary>One row per seed.</summary>
    public List<DemoRow> Rows { get; init; } = [];
}

/// <summary>One full <c>ips demo</c> run.</summary>
public sealed record DemoRow
{
    /// <summary>The seed (<c>--seed</c>).</summary>
    public int Seed { get; init; }

    /// <summary>Wall seconds from starting the command to its exit, as a user waits for it.</summary>
    public double WallSeconds { get; init; }

    /// <summary>The test metric of each task, from the demo's summary.</summary>
    public Dictionary<string, double> TestMetrics { get; init; } = [];

    /// <summary>The run's threads and how they waited, from the demo's summary: each process chooses from the load.</summary>
    public string Threads { get; init; } = "";
}

/// <summary>
/// <c>ips bench --parts demo</c>: the whole <c>ips demo</c>, as a user runs it (data generated afresh into a scratch
/// folder, training, evaluation, prediction), once per seed in a fresh process, with its wall time and accuracy per
/// task. The targets (docs/performance.md, "The demo"): at least 90 % majority accuracy in at most 5 minutes.
/// </summary>
internal sealed class DemoBench(BenchOptions options, TextWriter log)
{
    private const double TargetAccuracy = 0.90, TargetSeconds = 300;

    public DemoPart Run()
    {
        var scratch = Directory.CreateTempSubdirectory("ips-bench-demo-").FullName;
        try
        {
            var rows = new List<DemoRow>();
            foreach (var seed in options.DemoSeeds)
            {
                log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"demo: seed {seed}"));
                var row = RunDemo(seed, Path.Combine(scratch, string.Create(CultureInfo.InvariantCulture, $"seed-{seed}")));
                log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"demo: seed {seed}: {row.WallSeconds:F0} s, {string.Join(", ", row.TestMetrics.Select(m => $"{m.Key} {m.Value:P1}"))}"));
                rows.Add(row);
            }
            return new DemoPart { Setup = "ips demo --seed S --plain (configs/mnist-small.yml), data generated afresh, one fresh process per seed", Rows = rows };
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }

    private DemoRow RunDemo(int seed, string folder)
    {
        var run = Path.Combine(folder, "run");
        var start = new ProcessStartInfo(options.Child.FileName) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in options.Child.LeadingArguments.Concat(
            ["demo", "--seed", seed.ToString(CultureInfo.InvariantCulture), "--plain", "--run-dir", run, "--set", $"data_dir={Path.Combine(folder, "data")}", "--device", options.Device]))
        {
            start.ArgumentList.Add(argument);
        }
        var clock = Stopwatch.StartNew();
        using var child = Process.Start(start) ?? throw new InvalidOperationException($"could not start {options.Child.FileName}.");
        var output = child.StandardOutput.ReadToEndAsync();
        var errors = child.StandardError.ReadToEndAsync();
        child.WaitForExit();
        var seconds = clock.Elapsed.TotalSeconds;
        if (child.ExitCode != 0)
        {
            throw new InvalidOperationException($"ips demo --seed {seed} failed (exit code {child.ExitCode}): {errors.Result.Trim()} {output.Result.Trim()}");
        }
        var summary = DemoSummary.Read(run);
        return new DemoRow { Seed = seed, WallSeconds = seconds, TestMetrics = summary.TestMetrics.ToDictionary(), Threads = summary.Threads };
    }

    /// <summary>The part as a table, with the targets.</summary>
    public static string Format(DemoPart part)
    {
        var text = new StringBuilder();
        text.AppendLine(string.Create(CultureInfo.InvariantCulture, $"6. The demo ({part.Setup})"));
        var tasks = part.Rows.SelectMany(r => r.TestMetrics.Keys).Distinct().ToList();
        text.Append(BenchTables.Table(
            ["seed", "wall s", .. tasks],
            [.. part.Rows.Select(r => (string[])[
                r.Seed.ToString(CultureInfo.InvariantCulture), r.WallSeconds.ToString("F0", CultureInfo.InvariantCulture),
                .. tasks.Select(t => r.TestMetrics.TryGetValue(t, out var v) ? v.ToString("P1", CultureInfo.InvariantCulture) : "-")])]));
        if (part.Rows.Count > 0 && tasks.Count > 0)
        {
            var met = part.Rows.All(r => r.TestMetrics[tasks[0]] >= TargetAccuracy && r.WallSeconds <= TargetSeconds);
            text.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"target: {tasks[0]} >= {TargetAccuracy:P0} in <= {TargetSeconds:F0} s for every seed: {(met ? "met" : "MISSED")}"));
        }
        foreach (var row in part.Rows)
        {
            text.AppendLine(string.Create(CultureInfo.InvariantCulture, $"seed {row.Seed}: OpenMP threads {row.Threads}"));
        }
        return text.ToString();
    }
}
