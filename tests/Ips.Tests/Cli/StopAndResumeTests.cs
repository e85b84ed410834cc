using Ips.Cli;
using Ips.Tests.Data;
using Ips.Training;
using System.Text.RegularExpressions;

namespace Ips.Tests.Cli;

/// <summary>Tests that start <c>ips</c> processes; they run one at a time so that their timings do not collide.</summary>
[CollectionDefinition(nameof(TrainProcesses), DisableParallelization = true)]
public sealed class TrainProcesses : ICollectionFixture<TrainProcessFixture>;

/// <summary>
/// A tiny Megapixel MNIST (8 training canvases of 84x84 in 2x2 patches, one image per step: 8 steps an epoch, 2
/// epochs, seconds a run) and the <c>metrics.csv</c> of an uninterrupted run, which every stopped and resumed run must
/// reproduce byte for byte. The config's <c>data_dir</c> is relative to <see cref="Root"/>, where runs start.
/// </summary>
public sealed class TrainProcessFixture : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly Lazy<byte[]> _reference;

    public TrainProcessFixture()
    {
        var mnist = Path.Combine(Root, "mnist");
        Directory.CreateDirectory(mnist);
        MnistTestData.WriteSplits(mnist, MnistTestData.Synthetic(100), MnistTestData.Synthetic(50, salt: 3), gz: false);
        var generated = CliApp.Create().Run(["data", "megapixel-mnist", Path.Combine(Root, "mpm"), "--n-train", "64", "--n-test", "2",
            "--width", "84", "--height", "84", "--n-noise", "2", "--mnist", mnist, "--plain"]);
        Assert.Equal(0, generated);
        _reference = new(() =>
        {
            var (code, output) = CliProcess.Run(Root, [.. NewRun("runs/reference")]);
            Assert.True(code == 0, output);
            return File.ReadAllBytes(Path.Combine(Root, "runs/reference/metrics.csv"));
        });
    }

    /// <summary>Where runs start; holds the data set as <c>mpm</c>.</summary>
    public string Root => _dir.Path;

    /// <summary>metrics.csv of the uninterrupted run.</summary>
    public byte[] Reference => _reference.Value;

    /// <summary>Arguments of <c>ips train</c> starting a run in <paramref name="runDir"/>.</summary>
    public static string[] NewRun(string runDir, params string[] more) =>
    [
        "train", "-c", RepositoryFiles.Path("configs/mnist-small.yml"), "--set", "data_dir=mpm", "--set", "patch_size=[42,42]", "--set", "patch_stride=[42,42]",
        "--set", "N=4", "--set", "M=2", "--set", "I=2",
        "--set", "B=1", "--set", "B_seq=1", "--set", "n_epoch=2", "--set", "n_epoch_warmup=0.5", "--set", "n_worker=1",
        "--run-dir", runDir, "--plain", .. more,
    ];

    public void Dispose() => _dir.Dispose();
}

/// <summary>The rows of issue 11 about stops: signals, kill -9, a full disk, two runs in one directory, resume elsewhere.</summary>
[Collection(nameof(TrainProcesses))]
public sealed class StopAndResumeTests(TrainProcessFixture fixture)
{
    private readonly string _root = fixture.Root;

    private string RunDir(string name) => Path.Combine(_root, "runs", name);

    private void AssertResumesToTheUninterruptedLog(string runDir, string workingDirectory)
    {
        var (code, output) = CliProcess.Run(workingDirectory, "train", "--resume", runDir, "--plain");
        Assert.True(code == 0, output);
        Assert.Equal(fixture.Reference, File.ReadAllBytes(Path.Combine(runDir, "metrics.csv")));
    }

    [Fact]
    public void Sigterm_mid_epoch_saves_at_the_step_boundary_and_a_resume_from_another_directory_logs_as_if_never_stopped()
    {
        using (var run = CliProcess.Start(_root, TrainProcessFixture.NewRun("runs/term")))
        {
            run.WaitForLine("epoch 1/2 train 1/64");
            run.Signal("TERM");
            Assert.Equal(143, run.WaitForExit());
            Assert.Contains("SIGTERM: stopping after the current step; saving last.ckpt", run.Text, StringComparison.Ordinal);
            Assert.Contains("stopped; last.ckpt saved; continue with ips train --resume runs/term", run.Text, StringComparison.Ordinal);
        }
        Assert.True(Checkpoint.IsCheckpoint(Path.Combine(RunDir("term"), TrainingRun.LastCheckpoint)));
        // The stored config names the data set by its absolute path, so the resume works from anywhere.
        var elsewhere = Directory.CreateTempSubdirectory("ips-elsewhere-").FullName;
        try
        {
            AssertResumesToTheUninterruptedLog(RunDir("term"), elsewhere);
        }
        finally
        {
            Directory.Delete(elsewhere, recursive: true);
        }
    }

    [Fact]
    public void A_second_sigint_waits_for_the_save_and_the_resumed_log_equals_the_uninterrupted_one()
    {
        using (var run = CliProcess.Start(_root, TrainProcessFixture.NewRun("runs/int")))
        {
            run.WaitForLine("epoch 1/2 train 1/64");
            run.Signal("INT");
            run.WaitForLine("SIGINT: stopping after the current step");
            var second = run.TrySignal("INT");
            Assert.Equal(130, run.WaitForExit());
            var output = run.Text;
            Assert.Single(Regex.Matches(output, "stopping after the current step"));
            if (second)
            {
                Assert.Contains("already stopping; waiting for last.ckpt to be saved", output, StringComparison.Ordinal);
            }
            Assert.Contains("stopped; last.ckpt saved", output, StringComparison.Ordinal);
        }
        Assert.True(Checkpoint.IsCheckpoint(Path.Combine(RunDir("int"), TrainingRun.LastCheckpoint)));
        AssertResumesToTheUninterruptedLog(RunDir("int"), _root);
    }

    [Fact]
    public void After_kill_9_the_run_resumes_from_its_last_periodic_checkpoint_inside_the_epoch()
    {
        var last = Path.Combine(RunDir("kill"), TrainingRun.LastCheckpoint);
        using (var run = CliProcess.Start(_root, TrainProcessFixture.NewRun("runs/kill", "--checkpoint-every", "3steps")))
        {
            run.WaitUntil(() => File.Exists(last), "last.ckpt written");
            run.Kill();
        }
        var (code, output) = CliProcess.Run(_root, "train", "--resume", RunDir("kill"), "--plain");
        Assert.True(code == 0, output);
        Assert.Matches(@"resuming at epoch 1, iteration [1-9][0-9]*, step", output);
        Assert.Equal(fixture.Reference, File.ReadAllBytes(Path.Combine(RunDir("kill"), "metrics.csv")));
    }

    [Fact]
    public void A_second_run_in_a_directory_in_use_is_refused_with_the_holder_named()
    {
        // The first run has many epochs, so that it still trains when the second one has started and been refused.
        using var first = CliProcess.Start(_root, TrainProcessFixture.NewRun("runs/busy", "--set", "n_epoch=100"));
        first.WaitForLine("epoch 1/100 train 1/64");
        var (code, output) = CliProcess.Run(_root, TrainProcessFixture.NewRun("runs/busy"));
        Assert.Equal(1, code);
        Assert.Contains($"runs/busy is in use by another training run (pid {first.Id} on host {Environment.MachineName}", output, StringComparison.Ordinal);
        first.Signal("INT");
        Assert.Equal(130, first.WaitForExit());
        Assert.True(Checkpoint.IsCheckpoint(Path.Combine(RunDir("busy"), TrainingRun.LastCheckpoint)), first.Output);
    }

    [Fact]
    public void A_full_disk_during_a_save_keeps_the_previous_checkpoint_and_log_and_the_resume_repeats_nothing()
    {
        var runDir = RunDir("full");
        using (var run = CliProcess.Start(_root, TrainProcessFixture.NewRun("runs/full")))
        {
            run.WaitForLine("epoch 2/2 train 1/64");
            run.Signal("INT");
            Assert.Equal(130, run.WaitForExit());
        }
        var checkpoint = File.ReadAllBytes(Path.Combine(runDir, TrainingRun.LastCheckpoint));
        var log = File.ReadAllBytes(Path.Combine(runDir, "metrics.csv"));
        Assert.Equal(2, File.ReadAllLines(Path.Combine(runDir, "metrics.csv")).Length);

        // The resume runs on a 64 MiB tmpfs (in a user and mount namespace of its own, so no root is needed) that
        // a filler file leaves 1 MiB of: room for the log and the plot, not for the next checkpoint.
        var mount = Path.Combine(_root, "tmpfs");
        var after = RunDir("full-after");
        Directory.CreateDirectory(mount);
        var script = $"""
            set -e
            mount -t tmpfs -o size=64m tmpfs '{mount}'
            cp -a '{runDir}'/. '{mount}'/
            free=$(df --output=avail -B1 '{mount}' | tail -1)
            fallocate -l $((free - 1048576)) '{mount}/filler'
            set +e
            "$@"
            code=$?
            rm '{mount}/filler'
            mkdir -p '{after}'
            cp -a '{mount}'/. '{after}'/
            exit $code
            """;
        string[] wrapper = ["unshare", "--user", "--map-root-user", "--mount", "bash", "-c", script, "bash"];
        using (var full = CliProcess.Start(_root, wrapper, "train", "--resume", mount, "--plain"))
        {
            Assert.Equal(1, full.WaitForExit());
            Assert.Contains("No space left on device", full.Text, StringComparison.Ordinal);
            Assert.Contains("the previous last.ckpt is intact", full.Text, StringComparison.Ordinal);
        }
        Assert.Equal(checkpoint, File.ReadAllBytes(Path.Combine(after, TrainingRun.LastCheckpoint)));
        Assert.Equal(log, File.ReadAllBytes(Path.Combine(after, "metrics.csv")));
        Assert.Empty(Directory.GetFileSystemEntries(after, ".*.tmp*"));

        AssertResumesToTheUninterruptedLog(after, _root);
    }
}
