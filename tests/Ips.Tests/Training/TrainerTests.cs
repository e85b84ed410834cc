using Ips.Configuration;
using Ips.Training;
using static TorchSharp.torch;

namespace Ips.Tests.Training;

[Collection(nameof(GlobalRandomState))]
public sealed class TrainerTests : IDisposable
{
    private readonly string _scratch = Directory.CreateTempSubdirectory("ips-trainer-").FullName;

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    private sealed record FirstStep(long[] Indices, Dictionary<string, float[]> Gradients);

    private static FirstStep RunFirstStep(IpsConfig config, Ips.Data.IIpsDataset data)
    {
        using var trainer = new Trainer(config, CPU);
        FirstStep? first = null;
        trainer.AfterBackward = (indices, net) =>
        {
            first ??= new FirstStep(
                indices.data<long>().ToArray(),
                net.named_parameters().Where(p => p.parameter.grad is not null)
                    .ToDictionary(p => p.name, p => p.parameter.grad!.data<float>().ToArray()));
        };
        trainer.TrainEpoch(data);
        return first!;
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Eager_eager_sequential_and_lazy_select_the_same_patches_and_give_the_same_first_gradients(bool images)
    {
        var data = new SyntheticPatchDataset(count: 4, n: 12, seed: 3, images: images);
        var eager = RunFirstStep(SyntheticPatchDataset.Config(images, n: 12, m: 3, i: 4, b: 4, bSeq: 4, eager: true), data);
        var sequential = RunFirstStep(SyntheticPatchDataset.Config(images, n: 12, m: 3, i: 4, b: 4, bSeq: 1, eager: true), data);
        var lazy = RunFirstStep(SyntheticPatchDataset.Config(images, n: 12, m: 3, i: 4, b: 4, bSeq: 4, eager: false), data);

        Assert.Equal(12, eager.Indices.Length);
        Assert.Equal(eager.Indices, sequential.Indices);
        Assert.Equal(eager.Indices, lazy.Indices);
        Assert.NotEmpty(eager.Gradients);
        foreach (var (name, gradient) in eager.Gradients)
        {
            Assert.True(gradient.Any(g => g != 0) || name.Contains("bias", StringComparison.Ordinal), $"{name} got no gradient");
            AssertClose(gradient, sequential.Gradients[name], name);
            AssertClose(gradient, lazy.Gradients[name], name);
        }
    }

    private static void AssertClose(float[] expected, float[] actual, string name)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            var tolerance = 1e-5f + 1e-4f * Math.Abs(expected[i]);
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance, $"{name}[{i}]: {expected[i]} vs {actual[i]}");
        }
    }

    [Fact]
    public void The_modes_follow_eager_and_B_seq()
    {
        Assert.Equal(LoadingMode.Eager, LoadingModes.Of(SyntheticPatchDataset.Config(false, 12, 3, 4, b: 4, bSeq: 4, eager: true)));
        Assert.Equal(LoadingMode.EagerSequential, LoadingModes.Of(SyntheticPatchDataset.Config(false, 12, 3, 4, b: 4, bSeq: 1, eager: true)));
        Assert.Equal(LoadingMode.Lazy, LoadingModes.Of(SyntheticPatchDataset.Config(false, 12, 3, 4, b: 4, bSeq: 4, eager: false)));
    }

    [Fact]
    public void One_informative_patch_among_blank_ones_is_learned()
    {
        var config = SyntheticPatchDataset.Config(images: false, n: 64, m: 4, i: 16, b: 16, bSeq: 16, eager: true, epochs: 6, shuffle: true);
        var train = new SyntheticPatchDataset(count: 256, n: 64, seed: 1, images: false);
        var test = new SyntheticPatchDataset(count: 64, n: 64, seed: 2, images: false);
        using var trainer = new Trainer(config, CPU);
        for (var epoch = 0; epoch < config.NEpoch; epoch++)
        {
            trainer.TrainEpoch(train);
        }
        var scores = trainer.Evaluate(test);
        Assert.True(scores["cls"].Metric >= 0.95, $"test accuracy {scores["cls"].Metric}");
    }

    [Fact]
    public void The_last_short_batch_is_trained_on_and_steps_follow_the_loader()
    {
        // 10 images, B 4 -> batches of 4, 4, 2; eager sequential counts 10 loader iterations per epoch.
        var data = new SyntheticPatchDataset(count: 10, n: 12, seed: 5, images: false);
        using var trainer = new Trainer(SyntheticPatchDataset.Config(false, 12, 3, 4, b: 4, bSeq: 1, eager: true, epochs: 1), CPU);
        var batchSizes = new List<long>();
        trainer.AfterBackward = (indices, _) => batchSizes.Add(indices.shape[0]);
        var scores = trainer.TrainEpoch(data);
        Assert.Equal(new long[] { 4, 4, 2 }, batchSizes);
        Assert.Equal(3, trainer.Step);
        Assert.Equal(10, trainer.IterationsPerEpoch(data.Count));
        Assert.False(double.IsNaN(scores["cls"].Loss));
    }

    [Fact]
    public void Two_epochs_straight_equal_one_epoch_then_resume_then_one_epoch()
    {
        var config = SyntheticPatchDataset.Config(images: false, n: 32, m: 4, i: 8, b: 8, bSeq: 8, eager: true, epochs: 2, dropout: 0.1, shuffle: true);
        var data = new SyntheticPatchDataset(count: 40, n: 32, seed: 9, images: false);

        using var straight = new Trainer(config, CPU);
        straight.TrainEpoch(data);
        straight.TrainEpoch(data);

        var checkpoint = Path.Combine(_scratch, "last.ckpt");
        using (var first = new Trainer(config, CPU))
        {
            first.TrainEpoch(data);
            first.SaveCheckpoint(checkpoint, CheckpointState.Initial);
        }
        using var resumed = new Trainer(config with { Seed = config.Seed }, CPU);
        var state = resumed.LoadCheckpoint(checkpoint);
        Assert.Equal(1, state.Epoch);
        Assert.Equal(5, state.Step);
        resumed.TrainEpoch(data);

        AssertSameWeights(straight, resumed);
    }

    [Fact]
    public void A_stop_inside_an_epoch_resumes_at_the_same_step()
    {
        var config = SyntheticPatchDataset.Config(images: false, n: 32, m: 4, i: 8, b: 8, bSeq: 8, eager: true, epochs: 1, dropout: 0.1, shuffle: true);
        var data = new SyntheticPatchDataset(count: 40, n: 32, seed: 11, images: false);

        using var straight = new Trainer(config, CPU);
        straight.TrainEpoch(data);

        var checkpoint = Path.Combine(_scratch, "stopped.ckpt");
        using (var stopped = new Trainer(config, CPU))
        {
            using var stop = new CancellationTokenSource();
            stopped.AfterBackward = (_, _) => stop.Cancel();
            stopped.TrainEpoch(data, stop.Token);
            Assert.Equal(0, stopped.Epoch);
            Assert.Equal(1, stopped.IterationsDoneInEpoch);
            stopped.SaveCheckpoint(checkpoint, CheckpointState.Initial);
        }
        using var resumed = new Trainer(config, CPU);
        resumed.LoadCheckpoint(checkpoint);
        resumed.TrainEpoch(data);

        Assert.Equal(1, resumed.Epoch);
        Assert.Equal(straight.Step, resumed.Step);
        AssertSameWeights(straight, resumed);
    }

    private static void AssertSameWeights(Trainer expected, Trainer actual)
    {
        var right = actual.Net.state_dict();
        foreach (var (name, tensor) in expected.Net.state_dict())
        {
            Assert.True(tensor.eq(right[name]).all().item<bool>(), $"{name} differs");
        }
    }

    [Fact]
    public void The_same_seed_gives_the_same_run()
    {
        var config = SyntheticPatchDataset.Config(images: false, n: 32, m: 4, i: 8, b: 8, bSeq: 8, eager: true, epochs: 1, dropout: 0.1, shuffle: true);
        var data = new SyntheticPatchDataset(count: 24, n: 32, seed: 4, images: false);
        using var a = new Trainer(config, CPU);
        using var b = new Trainer(config, CPU);
        using var c = new Trainer(config with { Seed = 8 }, CPU);
        a.TrainEpoch(data);
        b.TrainEpoch(data);
        c.TrainEpoch(data);
        AssertSameWeights(a, b);
        Assert.False(a.Net.state_dict()["transf.crs_attn.q"].eq(c.Net.state_dict()["transf.crs_attn.q"]).all().item<bool>());
    }

    [Fact]
    public void Resident_memory_stays_flat_from_epoch_to_epoch()
    {
        var config = SyntheticPatchDataset.Config(images: true, n: 16, m: 4, i: 4, b: 4, bSeq: 4, eager: true, epochs: 8);
        var data = new SyntheticPatchDataset(count: 32, n: 16, seed: 6, images: true);
        using var trainer = new Trainer(config, CPU);
        trainer.TrainEpoch(data);
        trainer.TrainEpoch(data);
        var settled = Settle();
        for (var epoch = 0; epoch < 5; epoch++)
        {
            trainer.TrainEpoch(data);
        }
        // 40 more steps of 16 patch tensors each: a leak of one [4, 4, 1, 8, 8] tensor per step alone would be
        // swamped by allocator noise, so the bound is on growth in MiB; a leaked batch per step grows without bound.
        var growth = Settle() - settled;
        Assert.True(growth < 24L * 1024 * 1024, $"resident memory grew by {growth / 1024 / 1024} MiB over 5 epochs");
    }

    private static long Settle()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return ProcessMemory.CurrentResidentBytes();
    }

    [Fact]
    public void A_checkpoint_round_trips_its_config_and_refuses_other_files()
    {
        var config = SyntheticPatchDataset.Config(images: false, n: 12, m: 3, i: 4, b: 4, bSeq: 4, eager: true, epochs: 1);
        var checkpoint = Path.Combine(_scratch, "c.ckpt");
        using (var trainer = new Trainer(config, CPU))
        {
            trainer.SaveCheckpoint(checkpoint, CheckpointState.Initial);
        }
        var stored = ConfigLoader.Parse(Checkpoint.ReadConfigYaml(checkpoint), checkpoint);
        Assert.Equal(config.M, stored.M);
        Assert.Equal(config.Tasks[0], stored.Tasks[0]);
        Assert.True(Checkpoint.IsCheckpoint(checkpoint));

        var notCheckpoint = Path.Combine(_scratch, "notes.txt");
        File.WriteAllText(notCheckpoint, "hello");
        Assert.False(Checkpoint.IsCheckpoint(notCheckpoint));
        using var other = new Trainer(config, CPU);
        var error = Assert.Throws<InvalidDataException>(() => other.LoadCheckpoint(notCheckpoint));
        Assert.Contains("notes.txt", error.Message, StringComparison.Ordinal);
    }
}
