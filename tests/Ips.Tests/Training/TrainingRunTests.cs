using Ips.Configuration;
using Ips.IO;
using Ips.Training;
using static TorchSharp.torch;

namespace Ips.Tests.Training;

/// <summary>What a stop leaves in a run directory, in process: log rows, partial epochs, locks, stored paths.</summary>
[Collection(nameof(GlobalRandomState))]
public sealed class TrainingRunTests : IDisposable
{
    private readonly string _scratch = Directory.CreateTempSubdirectory("ips-run-").FullName;

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    // 40 examples in batches of 8: 5 steps an epoch, 2 epochs; dropout and shuffling on, so a step that is
    // counted twice or not at all shows in the loss.
    private static readonly IpsConfig Config = SyntheticPatchDataset.Config(images: false, n: 32, m: 4, i: 8, b: 8, bSeq: 8, eager: true, epochs: 2, dropout: 0.1, shuffle: true);
    private static readonly SyntheticPatchDataset Train = new(count: 40, n: 32, seed: 9, images: false);
    private static readonly SyntheticPatchDataset Test = new(count: 16, n: 32, seed: 10, images: false);

    private string Uninterrupted()
    {
        var directory = Path.Combine(_scratch, "straight");
        using var run = TrainingRun.Start(directory, Config, CPU);
        Assert.True(run.Run(Train, Test));
        return directory;
    }

    private static byte[] Csv(string directory) => File.ReadAllBytes(Path.Combine(directory, "metrics.csv"));

    [Fact]
    public void A_run_stopped_inside_an_epoch_and_resumed_logs_the_same_rows_as_one_never_stopped()
    {
        var expected = Csv(Uninterrupted());

        var directory = Path.Combine(_scratch, "stopped");
        using (var run = TrainingRun.Start(directory, Config, CPU))
        {
            using var stop = new CancellationTokenSource();
            // Stop after the second step of the second epoch: the first epoch is logged, the two steps are not.
            run.Trainer.Progress = new SynchronousProgress<PassProgress>(p =>
            {
                if (p.Phase == "train" && p.Epoch == 1 && p.Done == 2) stop.Cancel();
            });
            Assert.False(run.Run(Train, Test, cancel: stop.Token));
            Assert.Equal(1, run.Trainer.Epoch);
            Assert.Equal(2, run.Trainer.IterationsDoneInEpoch);
        }
        Assert.Equal(2, File.ReadAllLines(Path.Combine(directory, "metrics.csv")).Length);
        using (var resumed = TrainingRun.Resume(directory, CPU))
        {
            Assert.True(resumed.Run(Train, Test));
        }
        Assert.Equal(expected, Csv(directory));
        Assert.Single(Directory.GetFiles(Path.Combine(directory, "tensorboard")));
    }

    [Fact]
    public void A_checkpoint_every_two_steps_lets_a_killed_run_resume_exactly_from_the_middle_of_an_epoch()
    {
        var expected = Csv(Uninterrupted());

        // A kill -9 is simulated by copying the run directory as it is at a later step: the copy has what the
        // killed process would have left, the last periodic checkpoint and the log of the completed epochs.
        var directory = Path.Combine(_scratch, "periodic");
        var killed = Path.Combine(_scratch, "killed");
        using (var run = TrainingRun.Start(directory, Config, CPU))
        {
            run.CheckpointEvery = CheckpointInterval.EverySteps(2);
            run.Trainer.Progress = new SynchronousProgress<PassProgress>(p =>
            {
                if (p.Phase == "train" && p.Epoch == 1 && p.Done == 4) CopyDirectory(directory, killed);
            });
            Assert.True(run.Run(Train, Test));
        }
        using (var resumed = TrainingRun.Resume(killed, CPU))
        {
            // Steps 2, 4, 5 (the end of the first epoch) and 7 were checkpointed; the copy was taken after step 9,
            // before its checkpoint, so the resume starts after the second of the epoch's five iterations.
            Assert.Equal(1, resumed.Trainer.Epoch);
            Assert.Equal(2, resumed.Trainer.IterationsDoneInEpoch);
            Assert.True(resumed.Run(Train, Test));
        }
        Assert.Equal(expected, Csv(killed));
    }

    [Fact]
    public void Rows_written_after_the_checkpoint_are_dropped_on_resume_not_repeated()
    {
        var directory = Path.Combine(_scratch, "ahead");
        using (var run = TrainingRun.Start(directory, Config, CPU))
        {
            Assert.NotNull(run.RunEpoch(Train, Test));
        }
        var checkpointed = File.ReadAllBytes(Path.Combine(directory, "metrics.csv"));
        // What the previous version did when a save failed after the row was appended: a row without a checkpoint.
        File.AppendAllText(Path.Combine(directory, "metrics.csv"), "2,0.001,0.5,0.5,0.5,0.5\n");
        using (var resumed = TrainingRun.Resume(directory, CPU))
        {
            Assert.Equal(checkpointed, File.ReadAllBytes(Path.Combine(directory, "metrics.csv")));
            Assert.Equal(1, resumed.Trainer.Epoch);
        }
    }

    [Fact]
    public void A_new_run_is_refused_where_an_earlier_run_left_a_log_but_no_checkpoint()
    {
        var directory = Path.Combine(_scratch, "orphan");
        Directory.CreateDirectory(directory);
        var csv = Path.Combine(directory, "metrics.csv");
        File.WriteAllText(csv, "epoch,lr,train_cls_loss,train_cls_accuracy,test_cls_loss,test_cls_accuracy\n1,0.003,0.6,0.5,0.6,0.5\n");
        var before = File.ReadAllBytes(csv);

        var error = Assert.Throws<ArgumentException>(() => TrainingRun.Start(directory, Config, CPU));
        Assert.Contains("metrics.csv", error.Message, StringComparison.Ordinal);
        Assert.Contains("no last.ckpt", error.Message, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(csv));

        // A start that was stopped before its first checkpoint left only its config: that one may start over.
        var early = Path.Combine(_scratch, "early");
        Directory.CreateDirectory(early);
        File.WriteAllText(Path.Combine(early, TrainingRun.ConfigFile), "n_epoch: 1\n");
        using var run = TrainingRun.Start(early, Config, CPU);
        Assert.Equal(0, run.Trainer.Step);
    }

    [Fact]
    public void A_locked_run_directory_is_refused_with_the_holder_named_and_free_again_after_dispose()
    {
        var directory = Path.Combine(_scratch, "locked");
        using (var run = TrainingRun.Start(directory, Config, CPU))
        {
            var error = Assert.Throws<RunDirectoryInUseException>(() => TrainingRun.Start(directory, Config, CPU));
            Assert.Contains($"pid {Environment.ProcessId} on host {Environment.MachineName}", error.Message, StringComparison.Ordinal);
            Assert.Contains($"pid {Environment.ProcessId}", File.ReadAllText(Path.Combine(directory, RunDirectoryLock.FileName)), StringComparison.Ordinal);
            Assert.NotNull(run.RunEpoch(Train, Test));
        }
        using var resumed = TrainingRun.Resume(directory, CPU);
        Assert.Equal(1, resumed.Trainer.Epoch);
    }

    [Fact]
    public void The_stored_config_holds_absolute_paths_and_the_ones_given()
    {
        var given = Config with { DataDir = "data/mpm", PretrainedWeights = "weights/resnet18.pth" };
        var directory = Path.Combine(_scratch, "paths");
        using (var run = TrainingRun.Start(directory, given, CPU))
        {
            Assert.Equal(Path.Combine(Environment.CurrentDirectory, "data/mpm"), run.Config.DataDir);
            Assert.Equal(Path.Combine(Environment.CurrentDirectory, "weights/resnet18.pth"), run.Config.PretrainedWeights);
        }
        var stored = File.ReadAllText(Path.Combine(directory, TrainingRun.ConfigFile));
        var parsed = ConfigLoader.Parse(stored, "config.yml");
        Assert.Equal(Path.Combine(Environment.CurrentDirectory, "data/mpm"), parsed.DataDir);
        Assert.Contains("#   data_dir: 'data/mpm'", stored, StringComparison.Ordinal);
        Assert.Contains("#   pretrained_weights: 'weights/resnet18.pth'", stored, StringComparison.Ordinal);

        var absolute = Config with { DataDir = "/srv/data" };
        Assert.Equal(absolute, TrainingRun.WithAbsolutePaths(absolute));
    }

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target, overwrite: true);
        }
    }
}
