using System.Diagnostics;
using System.Globalization;
using System.Runtime.Versioning;
using System.Text.RegularExpressions;
using Ips.Data.Camelyon16;
using Ips.Slides.Tiling;
using Ips.Tests.Cli;
using YamlDotNet.RepresentationModel;

namespace Ips.Tests.Examples;

/// <summary>
/// What can be checked of examples/kubernetes without a cluster (none runs here: Debian has no k3s, kind or minikube):
/// the manifest that submit.sh hands to <c>kubectl apply</c> is an Indexed Job of TASKS pods, and its container
/// command, run once per index with what Kubernetes gives each pod (<c>JOB_COMPLETION_INDEX</c>) and what the manifest
/// sets (<c>IPS_TASK_COUNT</c>), with the shared volume's <c>/data</c> standing for a local folder, tiles every slide
/// exactly once, with <c>--claim</c> as written and with <c>--shard auto</c> (docs/cluster.md's strict-split variant).
/// The pods' scheduling, the volume and the image are not tested.
/// </summary>
[SupportedOSPlatform("linux")]
[Collection(nameof(TrainProcesses))]
public sealed partial class KubernetesExampleTests : IDisposable
{
    private const int Tasks = 3;
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public void The_indexed_job_of_submit_sh_tiles_each_slide_once_when_its_command_runs_once_per_completion_index()
    {
        var volume = _files.File("volume");
        var names = MakeCohort(Path.Combine(volume, "cohorts", "c1"));
        var job = Manifest("cohorts/c1", "runs/r1");

        var spec = (YamlMappingNode)job["spec"];
        Assert.Equal("Job", job["kind"].ToString());
        Assert.Equal("Indexed", spec["completionMode"].ToString());
        Assert.Equal(Tasks.ToString(CultureInfo.InvariantCulture), spec["completions"].ToString());
        Assert.Equal(Tasks.ToString(CultureInfo.InvariantCulture), spec["parallelism"].ToString());
        var container = (YamlMappingNode)((YamlSequenceNode)((YamlMappingNode)((YamlMappingNode)spec["template"])["spec"])["containers"])[0];
        var command = ((YamlSequenceNode)container["command"]).Select(node => node.ToString()).ToList();
        var environment = ((YamlSequenceNode)container["env"]).Cast<YamlMappingNode>()
            .ToDictionary(entry => entry["name"].ToString(), entry => entry["value"].ToString(), StringComparer.Ordinal);
        Assert.Equal(["ips", "slides", "tile", "/data/cohorts/c1", "--out", "/data/runs/r1/tiles", "--claim", "--plain"], command);

        // As written: every pod claims slides, largest first, so each slide is tiled by exactly one of them.
        var claimed = RunPods(command, environment, volume);
        Assert.Equal(names.Order(StringComparer.Ordinal), claimed.SelectMany(done => done).Order(StringComparer.Ordinal));
        AssertAllDone(Path.Combine(volume, "cohorts", "c1"), Path.Combine(volume, "runs", "r1", "tiles"), names.Length);

        // The strict split instead: the pod of completion index k tiles exactly the slides of --shard k/TASKS.
        List<string> sharded = [.. command.Select(a => a.Replace("/data/runs/r1", "/data/runs/r2", StringComparison.Ordinal)).TakeWhile(a => a != "--claim"),
            "--shard", "auto", "--plain"];
        var shards = RunPods(sharded, environment, volume);
        for (var index = 0; index < Tasks; index++)
        {
            var shard = new SlideShard(index, Tasks);
            Assert.Equal(names.Where(name => shard.Contains(name + ".tif")).Order(StringComparer.Ordinal), shards[index].Order(StringComparer.Ordinal));
        }
        AssertAllDone(Path.Combine(volume, "cohorts", "c1"), Path.Combine(volume, "runs", "r2", "tiles"), names.Length);
    }

    // Runs submit.sh with a kubectl that keeps what it is asked to apply (there is no API server to send it to).
    private YamlMappingNode Manifest(string cohort, string output)
    {
        var bin = _files.File("bin");
        Directory.CreateDirectory(bin);
        var applied = _files.File("applied.yaml");
        var kubectl = Path.Combine(bin, "kubectl");
        File.WriteAllText(kubectl, $"#!/bin/sh\n[ \"$*\" = 'apply -f -' ] || {{ echo \"unexpected kubectl $*\" >&2; exit 2; }}\ncat >'{applied}'\n");
        File.SetUnixFileMode(kubectl, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var (code, text) = RunScript(RepositoryFiles.Path("examples/kubernetes/submit.sh"), [cohort, output, Tasks.ToString(CultureInfo.InvariantCulture)],
            new Dictionary<string, string> { ["PATH"] = $"{bin}:{Environment.GetEnvironmentVariable("PATH")}" });
        Assert.True(code == 0, text);
        var yaml = new YamlStream();
        using (var reader = new StreamReader(applied))
        {
            yaml.Load(reader);
        }
        return (YamlMappingNode)yaml.Documents.Single().RootNode;
    }

    private static (int Code, string Text) RunScript(string script, string[] args, Dictionary<string, string> environment)
    {
        var info = new ProcessStartInfo(script) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in args) info.ArgumentList.Add(argument);
        foreach (var (name, value) in environment) info.Environment[name] = value;
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output.Result + error);
    }

    // The pods, all at once: the container command with its /data paths in the local volume, the manifest's
    // environment and the pod's completion index. Returns the slides each pod tiled; every pod must exit 0.
    private List<List<string>> RunPods(List<string> command, Dictionary<string, string> environment, string volume)
    {
        Assert.Equal("ips", command[0]);
        string[] args = [.. command.Skip(1).Select(a => a.StartsWith("/data/", StringComparison.Ordinal) ? volume + a["/data".Length..] : a)];
        var pods = Enumerable.Range(0, Tasks).Select(index => CliProcess.Start(_files.Root,
            ["env", $"JOB_COMPLETION_INDEX={index}", .. environment.Select(e => $"{e.Key}={e.Value}")], args)).ToList();
        try
        {
            var codes = pods.Select(pod => pod.WaitForExit()).ToList();
            var outputs = string.Join("\n", pods.Select((pod, i) => $"--- pod {i}\n{pod.Output}"));
            Assert.True(codes.All(c => c == 0), outputs);
            return [.. pods.Select(pod => TileDone().Matches(pod.Text).Select(m => m.Groups[1].Value).ToList())];
        }
        finally
        {
            pods.ForEach(pod => pod.Dispose());
        }
    }

    private void AssertAllDone(string cohort, string tiles, int slides)
    {
        var (code, text) = CliProcess.Run(_files.Root, ["slides", "status", tiles, "--slides", cohort]);
        Assert.True(code == 0, text);
        Assert.Contains($"{tiles}: {slides} done, 0 in progress, 0 failed, 0 to do, of {slides}", text, StringComparison.Ordinal);
    }

    // Six small slides of different sizes.
    private static string[] MakeCohort(string folder)
    {
        Directory.CreateDirectory(folder);
        var options = new SlideWriteOptions { TileSize = 256, SmallestLevelSize = 256, MicronsPerPixel = 0.5 };
        return [.. Enumerable.Range(0, 6).Select(i =>
        {
            var name = string.Create(CultureInfo.InvariantCulture, $"k{i}");
            PyramidalTiffWriter.Write(Path.Combine(folder, name + ".tif"),
                new SyntheticTissue(512 + 256 * (i % 3), 512 + 256 * (i % 2), seed: 30 + i, tissueFraction: 0.3, blobRadius: 150), options);
            return name;
        })];
    }

    // "done NAME.tif: 12 tiles kept of 48, ..." in the one-space text of the output.
    [GeneratedRegex(@"done (\w+)\.tif: \d+ tiles kept")]
    private static partial Regex TileDone();
}
