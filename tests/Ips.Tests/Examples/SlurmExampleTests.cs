using System.Globalization;
using System.Runtime.Versioning;
using System.Text.RegularExpressions;
using Ips.Data.Camelyon16;
using Ips.Encoders;
using Ips.IO;
using Ips.Tests.Cli;
using Xunit.Abstractions;

namespace Ips.Tests.Examples;

/// <summary>
/// The array-job scripts of examples/slurm, submitted unchanged to a real Slurm (<see cref="SingleNodeSlurm"/>) over a
/// generated cohort of twelve slides, one of them large: three tasks that claim slides tile the cohort and then embed
/// it, each slide once, into folders byte-identical to one process's; the tasks end within one slide's time of each
/// other; a task cancelled in the middle of the large slide leaves exactly that slide to a resubmission. And
/// examples/slurm/submit.sh itself runs the whole chain (tiling, features, pack + train, prediction) on a generated
/// CAMELYON16, each step after the last. Both tests share one cluster (<see cref="SlurmCluster"/>).
/// Needs root and slurm-wlm + munge (installed by ./run-tests when root); fails with the reason otherwise.
/// </summary>
[SupportedOSPlatform("linux")]
[Collection(nameof(TrainProcesses))]
public sealed partial class SlurmExampleTests(SlurmCluster cluster, ITestOutputHelper output) : IClassFixture<SlurmCluster>, IDisposable
{
    private const string Large = "big";
    private readonly TempFiles _files = new();
    private readonly SlurmCluster _cluster = cluster;
    private readonly ITestOutputHelper _output = output;

    public void Dispose() => _files.Dispose();

    [Fact]
    public void The_example_array_jobs_share_a_cohort_on_a_real_Slurm_and_a_resubmission_after_scancel_does_only_the_missing_slide()
    {
        var cohort = _files.File("cohort");
        var names = MakeCohort(cohort);
        var encoder = _files.File("resnet18.pth");
        TorchSharp.torch.manual_seed(5);
        using (var backbone = new ResNetBackbone("resnet18"))
        {
            StateDictIO.Save(backbone, encoder);
        }
        string[] tileOptions = ["--tile-size", "224"];
        string[] featureOptions = ["--batch-size", "16"];

        // One process: the reference the array jobs must equal, byte for byte.
        var single = _files.File("single");
        var (code, text) = CliProcess.Run(_files.Root, ["slides", "tile", cohort, "--out", Path.Combine(single, "tiles"), "--plain", .. tileOptions]);
        Assert.True(code == 0, text);
        (code, text) = CliProcess.Run(_files.Root, ["slides", "features", cohort, "--coords", Path.Combine(single, "tiles"), "--encoder", encoder,
            "--out", Path.Combine(single, "features"), "--workers", "8", "--plain", .. featureOptions]);
        Assert.True(code == 0, text);

        var slurm = _cluster.Slurm;
        var environment = JobEnvironment();
        var logs = _files.File("logs");
        Directory.CreateDirectory(logs);
        string Submit(string script, string log, string[] extra, params string[] args) => slurm.Run("sbatch", environment,
            ["--parsable", "--array=0-2", "--output", Path.Combine(logs, log + "-%a.out"), .. extra, RepositoryFiles.Path("examples/slurm/" + script), .. args]).Trim();

        var shared = _files.File("shared");
        var tile = Submit("tile.sbatch", "tile", [], [cohort, shared, .. tileOptions]);
        var features = Submit("features.sbatch", "features", [$"--dependency=afterok:{tile}"], [cohort, shared, encoder, .. featureOptions]);
        slurm.WaitForJobs(TimeSpan.FromMinutes(5), tile, features);

        var tileLogs = Logs(logs, "tile");
        var featureLogs = Logs(logs, "features");
        Assert.All(slurm.Tasks(tile).Concat(slurm.Tasks(features)), task => Assert.True(task.State == "COMPLETED", $"{task}\n{tileLogs}\n{featureLogs}"));
        // Every slide was done by exactly one task.
        Assert.Equal(names.Order(StringComparer.Ordinal), TiledSlides(tileLogs).Select(s => s.Name).Order(StringComparer.Ordinal));
        Assert.Equal(names.Order(StringComparer.Ordinal), EmbeddedSlides(featureLogs).Select(s => s.Name).Order(StringComparer.Ordinal));
        OutputFolders.AssertSameFiles(Path.Combine(single, "tiles"), Path.Combine(shared, "tiles"), "one-process");
        OutputFolders.AssertSameFiles(Path.Combine(single, "features"), Path.Combine(shared, "features"), "one-process");
        AssertAllDone(cohort, names.Length, Path.Combine(shared, "tiles"), Path.Combine(shared, "features"));
        // Claiming largest first: once the first task ends every slide is taken, so the last ends at most one slide later
        // (Slurm's times are whole seconds).
        AssertBalanced(slurm.Tasks(tile), TiledSlides(tileLogs), tileLogs);
        AssertBalanced(slurm.Tasks(features), EmbeddedSlides(featureLogs), featureLogs);

        // A task cancelled (SIGTERM, as at preemption) in the middle of the large slide leaves just that slide.
        var cut = _files.File("cut");
        var again = Submit("tile.sbatch", "cut", [], [cohort, cut, .. tileOptions]);
        var (job, task) = HolderOf(Path.Combine(cut, "tiles", $".{Large}.lock"), slurm);
        // Only once the other two tasks have gone past the large slide: a task that came to it after the cancel would
        // take it over (as it should), and there would be nothing left for the resubmission.
        WaitUntil(() => Regex.Matches(Regex.Replace(Logs(logs, "cut"), @"\s+", " "), $@"skipped {Large}\.tif: being tiled by another process now").Count == 2,
            "the other tasks to skip the large slide", () => Logs(logs, "cut"));
        slurm.Run("scancel", $"{job}_{task}");
        slurm.WaitForJobs(TimeSpan.FromMinutes(5), again);
        var cutLogs = Logs(logs, "cut");
        Assert.Equal("CANCELLED", slurm.Tasks(again).Single(t => t.TaskId == task).State);
        Assert.False(File.Exists(Path.Combine(cut, "tiles", Large + ".h5")), cutLogs);
        Assert.Equal(names.Where(n => n != Large).Order(StringComparer.Ordinal), TiledSlides(cutLogs).Select(s => s.Name).Order(StringComparer.Ordinal));

        var rerun = Submit("tile.sbatch", "rerun", [], [cohort, cut, .. tileOptions]);
        slurm.WaitForJobs(TimeSpan.FromMinutes(5), rerun);
        var rerunLogs = Logs(logs, "rerun");
        Assert.Equal([Large], TiledSlides(rerunLogs).Select(s => s.Name));
        // Each of the three tasks went through the cohort and found the others finished.
        Assert.Equal(3 * (names.Length - 1), Regex.Matches(rerunLogs, @"skipped \w+\.tif: finished before").Count);
        OutputFolders.AssertSameFiles(Path.Combine(single, "tiles"), Path.Combine(cut, "tiles"), "one-process");
        AssertAllDone(cohort, names.Length, Path.Combine(cut, "tiles"));
    }

    // Twelve generated slides: one of 4096 x 4096 pixels and eleven of 768 .. 1536 x 512 .. 1024.
    private static string[] MakeCohort(string folder)
    {
        Directory.CreateDirectory(folder);
        var options = new SlideWriteOptions { TileSize = 256, SmallestLevelSize = 256, MicronsPerPixel = 0.5 };
        PyramidalTiffWriter.Write(Path.Combine(folder, Large + ".tif"), new SyntheticTissue(4096, 4096, seed: 1, tissueFraction: 0.3, blobRadius: 400), options);
        var names = new List<string> { Large };
        for (var i = 0; i < 11; i++)
        {
            var name = string.Create(CultureInfo.InvariantCulture, $"s{i:00}");
            PyramidalTiffWriter.Write(Path.Combine(folder, name + ".tif"),
                new SyntheticTissue(768 + 256 * (i % 4), 512 + 256 * (i % 3), seed: 10 + i, tissueFraction: 0.3, blobRadius: 150), options);
            names.Add(name);
        }
        return [.. names];
    }

    // What the jobs inherit from sbatch: the built ips behind the examples' IPS variable, and the settings CliProcess
    // gives the one-process run (plain output, one libtorch thread), so both compute the same bytes.
    private Dictionary<string, string> JobEnvironment()
    {
        var ips = _files.File("ips");
        File.WriteAllText(ips, $"#!/bin/sh\nexec '{CliProcess.Dotnet}' '{Path.Combine(CliProcess.ProgramDirectory, "Ips.Cli.dll")}' \"$@\"\n");
        File.SetUnixFileMode(ips, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return new Dictionary<string, string>
        {
            ["IPS"] = ips,
            ["NO_COLOR"] = "1",
            ["CI"] = "1",
            ["OMP_NUM_THREADS"] = "1",
            ["MKL_NUM_THREADS"] = "1",
        };
    }

    private static string Logs(string folder, string prefix) => string.Join("\n", Directory.GetFiles(folder, prefix + "-*.out")
        .Order(StringComparer.Ordinal).Select(file => $"--- {Path.GetFileName(file)}\n{File.ReadAllText(file)}"));

    // "done NAME.tif: 12 tiles kept of 48, threshold 2.00, 0.4 s", possibly wrapped by the console.
    private static List<(string Name, double Seconds)> TiledSlides(string logs) =>
        [.. TileDone().Matches(Regex.Replace(logs, @"\s+", " "))
            .Select(m => (m.Groups[1].Value, double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture)))];

    // "[3/12] NAME: 40 tiles in 1.2 s (33.3 tiles/s)".
    private static List<(string Name, double Seconds)> EmbeddedSlides(string logs) =>
        [.. FeaturesDone().Matches(logs).Select(m => (m.Groups[1].Value, double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture)))];

    private void AssertBalanced(List<SlurmTask> tasks, List<(string Name, double Seconds)> slides, string logs)
    {
        var spread = (tasks.Max(t => t.End) - tasks.Min(t => t.End)).TotalSeconds;
        var longest = slides.Max(s => s.Seconds);
        _output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"tasks' end times {spread} s apart; longest slide {longest:F1} s; tasks {string.Join(", ", tasks.Select(t => $"{t.TaskId}: {t.Start:HH:mm:ss}-{t.End:HH:mm:ss}"))}"));
        Assert.True(spread <= longest + 2, string.Create(CultureInfo.InvariantCulture,
            $"the tasks ended {spread} s apart, more than the longest slide ({longest:F1} s) + 2 s:\n{string.Join('\n', tasks)}\n{logs}"));
    }

    private void AssertAllDone(string cohort, int slides, params string[] folders)
    {
        var (code, text) = CliProcess.Run(_files.Root, ["slides", "status", .. folders, "--slides", cohort]);
        Assert.True(code == 0, text);
        foreach (var folder in folders)
        {
            Assert.Contains($"{folder}: {slides} done, 0 in progress, 0 failed, 0 to do, of {slides}", text, StringComparison.Ordinal);
        }
        Assert.EndsWith("all done", text.Trim(), StringComparison.Ordinal);
    }

    private static void WaitUntil(Func<bool> condition, string what, Func<string> details)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"no {what} within 2 minutes\n{details()}");
            }
            Thread.Sleep(20);
        }
    }

    // The array job and task of the process holding the lock: its pid is in the lock file, and Slurm gave it its ids.
    private static (string Job, int Task) HolderOf(string lockPath, SingleNodeSlurm slurm)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while (DateTime.UtcNow < deadline)
        {
            if (OutputLock.Inspect(lockPath) is { Pid: > 0 } holder && File.Exists($"/proc/{holder.Pid}/environ"))
            {
                var variables = File.ReadAllText($"/proc/{holder.Pid}/environ").Split('\0')
                    .Select(entry => entry.Split('=', 2)).Where(pair => pair.Length == 2)
                    .ToDictionary(pair => pair[0], pair => pair[1], StringComparer.Ordinal);
                return (variables["SLURM_ARRAY_JOB_ID"], int.Parse(variables["SLURM_ARRAY_TASK_ID"], CultureInfo.InvariantCulture));
            }
            Thread.Sleep(20);
        }
        throw new TimeoutException($"no task took {lockPath} within 2 minutes\n{slurm.Logs()}");
    }

    [GeneratedRegex(@"done (\w+)\.tif: \d+ tiles kept of \d+, threshold [\d.]+, ([\d.]+) s")]
    private static partial Regex TileDone();

    [GeneratedRegex(@"\[\d+/\d+\] (\w+): \d+ tiles in ([\d.]+) s")]
    private static partial Regex FeaturesDone();
}
