using Ips.Modeling;
using Ips.Native;
using Ips.Selection;
using Ips.Tests.Modeling;
using Ips.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Ips.Tests.Selection;

/// <summary><c>selection_dtype: bfloat16</c>: the selection pass's encoder runs in bfloat16, everything else stays float32.</summary>
public sealed class Bfloat16SelectionTests
{
    private const int N = 400, M = 20, Images = 3;

    [Fact]
    public void The_bfloat16_encoder_selects_nearly_the_float32_set_and_leaves_the_model_in_float32()
    {
        var config = ModelFixtures.SmallFeatureConfig(usePos: true, n: N, heads: 2, nToken: 1)
            with { NChanIn = 64, D = 32, DK = 16, DV = 16, M = M, I = 60, Shuffle = true };
        manual_seed(3);
        using var net = new IpsNet(config);
        var generator = new Generator(5);
        var images = Enumerable.Range(0, Images).Select(_ => new InMemoryPatchSource(randn([N, 64], generator: generator))).ToArray();
        var before = net.state_dict().ToDictionary(pair => pair.Key, pair => pair.Value.clone());
        var selector = new IterativePatchSelector(net);
        Assert.False(selector.EncodeInBfloat16);
        Assert.True(new IterativePatchSelector(new IpsNet(config with { SelectionDtype = "bfloat16" })).EncodeInBfloat16);

        using var float32 = selector.Select(images, CPU, new Generator(11));
        selector.EncodeInBfloat16 = true;
        using var bfloat16 = selector.Select(images, CPU, new Generator(11));

        // The selected patches are the source's float32 rows at the selected indices, not rounded copies.
        Assert.Equal(ScalarType.Float32, bfloat16.Patches.dtype);
        Assert.Equal(ScalarType.Float32, bfloat16.Scores!.dtype);
        for (var b = 0; b < Images; b++)
        {
            using var rows = images[b].Gather(bfloat16.Indices[b].data<long>().ToArray());
            Assert.True(rows.eq(bfloat16.Patches[b]).all().item<bool>(), $"image {b}: selected patches differ from the source rows");
            var a = float32.Indices[b].data<long>().ToHashSet();
            var c = bfloat16.Indices[b].data<long>().ToHashSet();
            var common = a.Intersect(c).Count();
            // Rounding the encoder to bfloat16 may only swap patches near the M-th place: at least 17 of the 20 agree.
            Assert.True(common >= 17, $"image {b}: only {common} of {M} selected patches agree with float32");
        }
        // The float32 model that trains is untouched: the bfloat16 copy is separate.
        foreach (var (name, value) in net.state_dict())
        {
            Assert.Equal(value.dtype, before[name].dtype);
            Assert.True(value.eq(before[name]).all().item<bool>(), $"{name} changed");
        }
        foreach (var image in images)
        {
            image.Dispose();
        }
    }

    [Fact]
    public void The_bfloat16_copy_follows_the_trained_weights()
    {
        var config = ModelFixtures.SmallFeatureConfig(usePos: false, n: N, heads: 2, nToken: 1)
            with { NChanIn = 64, D = 32, DK = 16, DV = 16, M = M, I = 60, SelectionDtype = "bfloat16" };
        manual_seed(4);
        using var net = new IpsNet(config);
        var generator = new Generator(6);
        using var image = new InMemoryPatchSource(randn([N, 64], generator: generator));
        var selector = new IterativePatchSelector(net);
        using var first = selector.Select([image], CPU);

        // A change the copy must follow: the projector's linear layer (encoder.1) negated, so the ReLU after the
        // batch norm keeps other features and other patches score high.
        using (no_grad())
        {
            foreach (var (name, parameter) in net.Encoder.named_parameters().Where(p => p.name.StartsWith("1.", StringComparison.Ordinal)))
            {
                parameter.neg_();
            }
        }
        using var second = selector.Select([image], CPU);
        selector.EncodeInBfloat16 = false;
        using var reference = selector.Select([image], CPU);

        var now = second.Indices[0].data<long>().ToHashSet();
        Assert.True(now.Intersect(reference.Indices[0].data<long>()).Count() >= 17, "the bfloat16 copy did not take the new weights");
        Assert.True(now.Intersect(first.Indices[0].data<long>()).Count() < 17, "the weight change should have changed the selection");
    }

    [Fact]
    public void Training_warns_where_the_cpu_would_emulate_bfloat16()
    {
        var float32 = ModelFixtures.SmallFeatureConfig();
        var bfloat16 = float32 with { SelectionDtype = "bfloat16", Source = "feat.yml" };

        var note = IterativePatchSelector.SlowCpuNote(bfloat16, CPU, nativeBfloat16: false);
        Assert.NotNull(note);
        Assert.Contains("config feat.yml", note);
        Assert.Contains("selection_dtype float32 is the faster choice here", note);
        Assert.Null(IterativePatchSelector.SlowCpuNote(bfloat16, CPU, nativeBfloat16: true));
        Assert.Null(IterativePatchSelector.SlowCpuNote(bfloat16, CPU, nativeBfloat16: null));
        Assert.Null(IterativePatchSelector.SlowCpuNote(bfloat16, new Device(DeviceType.CUDA, 0), nativeBfloat16: false));
        Assert.Null(IterativePatchSelector.SlowCpuNote(float32, CPU, nativeBfloat16: false));
    }

    [Fact]
    public void The_trainer_hands_its_notes_to_the_commands()
    {
        var config = ModelFixtures.SmallFeatureConfig() with { SelectionDtype = "bfloat16", NWorker = 1024, Source = "feat.yml" };
        using var trainer = new Trainer(config, CPU);

        Assert.Contains(trainer.Notes, note => note.StartsWith("n_worker 1024: loading on", StringComparison.Ordinal));
        Assert.Equal(CpuFeatures.NativeBfloat16 == false, trainer.Notes.Any(note => note.StartsWith("selection_dtype bfloat16", StringComparison.Ordinal)));
        using var fitting = new Trainer(config with { SelectionDtype = "float32", NWorker = 1 }, CPU);
        Assert.Empty(fitting.Notes);
    }
}
