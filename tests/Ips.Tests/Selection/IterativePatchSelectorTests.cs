using Ips.Configuration;
using Ips.Modeling;
using Ips.Patches;
using Ips.Selection;
using Ips.Tests.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace Ips.Tests.Selection;

/// <summary>Properties of Iterative Patch Selection (docs/design.md section 3).</summary>
public sealed class IterativePatchSelectorTests
{
    private const int N = 30, M = 5, C = 8;

    private static IpsNet SingleHeadModel(bool usePos, IpsConfig? overrides = null)
    {
        var config = overrides ?? ModelFixtures.SmallFeatureConfig(usePos: usePos, n: N, heads: 1, nToken: 1) with { M = M };
        var net = new IpsNet(config);
        ModelFixtures.SetDeterministicWeights(net);
        return net;
    }

    private static InMemoryPatchSource[] Images(int count, int n = N, bool identical = false) =>
        Enumerable.Range(0, count)
            .Select(b => new InMemoryPatchSource(ModelFixtures.FormulaTensor(new long[] { n, C }, phase: identical ? 0 : 1.3 * b)))
            .ToArray();

    /// <summary>With one head and one token, attention is a softmax of q_w(q) . k_w(emb), so IPS must keep the global top-M logits.</summary>
    [Theory]
    [InlineData(1, false)]
    [InlineData(7, false)]
    [InlineData(N, false)]
    [InlineData(1, true)]
    [InlineData(7, true)]
    [InlineData(N, true)]
    public void SelectsTheGlobalTopMByAttentionLogit(int iterationSize, bool usePos)
    {
        using var net = SingleHeadModel(usePos);
        net.eval();
        var images = Images(2);
        var selector = new IterativePatchSelector(net, iterationSize: iterationSize);

        using var result = selector.Select(images, CPU);

        Assert.Equal(new long[] { 2, M, C }, result.Patches.shape);
        Assert.Equal(new long[] { 2, M }, result.Indices.shape);
        Assert.Equal(ScalarType.Int64, result.Indices.dtype);
        Assert.Equal(new long[] { 2, M }, result.Scores!.shape);
        Assert.Equal(usePos, result.PositionalEncoding is not null);
        for (var b = 0; b < images.Length; b++)
        {
            // Streaming: chunks never exceed max(M, I); the final gather reads only the M winners.
            Assert.All(images[b].ReadSizes, size => Assert.True(size <= Math.Max(M, iterationSize)));
            Assert.Equal(N, images[b].ReadSizes.Sum());
            Assert.Equal(new[] { M }, images[b].GatherSizes);

            var logits = GlobalLogits(net, images[b]);
            var ranked = Enumerable.Range(0, N).OrderByDescending(i => logits[i]).ToArray();
            Assert.True(logits[ranked[M - 1]] - logits[ranked[M]] > 1e-4, "test data must not tie at the M-th place");

            var selected = result.Indices[b].data<long>().ToArray();
            Assert.Equal(M, selected.Distinct().Count());
            Assert.All(selected, i => Assert.InRange(i, 0, N - 1));
            Assert.Equal(ranked.Take(M).Select(i => (long)i).Order(), selected.Order());
            Assert.Equal(ranked.Take(M).Select(i => (long)i), selected); // memory is kept in score order

            var scores = result.Scores[b].data<float>().ToArray();
            Assert.Equal(scores.OrderByDescending(s => s), scores);
            for (var j = 0; j < M; j++)
            {
                using var expectedPatch = images[b].Gather(new[] { selected[j] });
                Assert.True(result.Patches[b, j].allclose(expectedPatch[0], rtol: 0, atol: 0));
                if (usePos)
                {
                    Assert.True(result.PositionalEncoding![b, j].allclose(net.PositionalEncoding![selected[j]]));
                }
            }

        }
        DisposeAll(images);
    }

    [Fact]
    public void MemoryAtLeastNReturnsEveryPatchWithoutScoring()
    {
        using var net = SingleHeadModel(usePos: true);
        var images = Images(2);
        var selector = new IterativePatchSelector(net, memorySize: N + 3);

        using var result = selector.Select(images, CPU);

        Assert.Equal(new long[] { 2, N, C }, result.Patches.shape);
        Assert.Null(result.Scores);
        for (var b = 0; b < 2; b++)
        {
            Assert.Equal(Enumerable.Range(0, N).Select(i => (long)i), result.Indices[b].data<long>().ToArray());
            using var all = images[b].Read(0, N);
            Assert.True(result.Patches[b].allclose(all, rtol: 0, atol: 0));
            Assert.True(result.PositionalEncoding![b].allclose(net.PositionalEncoding!, rtol: 0, atol: 0));
        }
        DisposeAll(images);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void RestoresEveryModuleModeAndSelectsInEvalMode(bool startInTrain)
    {
        using var net = SingleHeadModel(usePos: false);
        net.train(startInTrain);
        // A mixed state must survive too: here the projector's BatchNorm is frozen while the rest trains.
        var batchNorm = net.Encoder.named_modules().Single(m => m.name == "2").module;
        batchNorm.train(!startInTrain);
        var before = Modes(net);
        using var runningMean = net.state_dict()["encoder.2.running_mean"].clone();
        var images = Images(2);

        using (var result = new IterativePatchSelector(net).Select(images, CPU))
        {
            Assert.Equal(before, Modes(net));
        }

        // BatchNorm in train mode would have updated its running statistics during selection.
        Assert.True(net.state_dict()["encoder.2.running_mean"].allclose(runningMean, rtol: 0, atol: 0));
        DisposeAll(images);
    }

    [Fact]
    public void GradientsComeOnlyFromTheForwardPassOverSelectedPatches()
    {
        using var net = SingleHeadModel(usePos: true);
        net.train();
        var images = Images(2);
        using var result = new IterativePatchSelector(net).Select(images, CPU);

        Assert.False(result.Patches.requires_grad);
        Assert.True(result.Patches.is_leaf);
        Assert.False(result.PositionalEncoding!.requires_grad);
        Assert.All(net.parameters(), p => Assert.Null(p.grad));

        var outputs = net.forward(result.Patches, result.PositionalEncoding);
        using var loss = outputs["cls"].log().sum().neg();
        loss.backward();

        var parameters = net.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var name in new[] { "encoder.1.weight", "transf.crs_attn.q", "transf.crs_attn.k_w.weight", "output_layers.cls.0.weight" })
        {
            var grad = parameters[name].grad;
            Assert.NotNull(grad);
            Assert.True(grad!.abs().sum().item<float>() > 0, $"{name} got no gradient");
        }
        Assert.False(result.Patches.requires_grad);
        foreach (var output in outputs.Values)
        {
            output.Dispose();
        }
        DisposeAll(images);
    }

    [Theory]
    [InlineData("batch")]
    [InlineData("instance")]
    public void ShuffleStyleDecidesWhetherImagesShareAPermutation(string style)
    {
        // Identical, constant patches tie everywhere, so the order alone decides which patches win.
        var config = ModelFixtures.SmallFeatureConfig(usePos: false, n: N, heads: 1, nToken: 1) with { M = M, Shuffle = true, ShuffleStyle = style };
        using var net = SingleHeadModel(usePos: false, config);

        long[][] SelectWithSeed(ulong seed)
        {
            var images = Enumerable.Range(0, 2).Select(_ => new InMemoryPatchSource(ones(N, C))).ToArray();
            using var generator = new Generator(seed);
            using var result = new IterativePatchSelector(net).Select(images, CPU, generator);
            Assert.All(images, image => Assert.Empty(image.ReadSizes)); // shuffled order is read by index
            var rows = Enumerable.Range(0, 2).Select(b => result.Indices[b].data<long>().ToArray()).ToArray();
            DisposeAll(images);
            return rows;
        }

        var first = SelectWithSeed(7);
        var again = SelectWithSeed(7);
        var other = SelectWithSeed(8);

        Assert.Equal(first, again);
        Assert.NotEqual(first[0], other[0]);
        if (style == "batch")
        {
            Assert.Equal(first[0], first[1]);
        }
        else
        {
            Assert.NotEqual(first[0], first[1]);
        }
    }

    [Fact]
    public void LiveTensorCountStaysFlatAcrossIterationsAndReturnsToStart()
    {
        using var net = SingleHeadModel(usePos: true, ModelFixtures.SmallFeatureConfig(usePos: true, n: 120, heads: 1, nToken: 1) with { M = M });
        var images = Images(2, 120);
        var selector = new IterativePatchSelector(net, iterationSize: 3);
        selector.Select(images, CPU).Dispose(); // warm-up: lazily created module state
        images[0].LiveTensorsAtRead.Clear();

        var live = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        selector.Select(images, CPU).Dispose();

        Assert.Equal(live, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        // One read initialises the memory, then one per iteration (39); from the second iteration on, when the
        // memory also holds scores, every iteration must start with the same number of live tensors.
        Assert.Equal(40, images[0].LiveTensorsAtRead.Count);
        var atIterations = images[0].LiveTensorsAtRead.Skip(2).ToList();
        Assert.Single(atIterations.Distinct());
        DisposeAll(images);
    }

    [Fact]
    public void RejectsImagesOfDifferentSizesInOneBatch()
    {
        using var net = SingleHeadModel(usePos: false);
        var images = new[] { Images(1, 30)[0], Images(1, 31)[0] };
        var error = Assert.Throws<ArgumentException>(() => new IterativePatchSelector(net).Select(images, CPU));
        Assert.Contains("image 1 has 31", error.Message);
        DisposeAll(images);
    }

    [Fact]
    public void ImageModelSelectsAndPredicts()
    {
        var config = ModelFixtures.SmallImageConfig(n: 12);
        using var net = new IpsNet(config);
        net.train();
        var images = Enumerable.Range(0, 2)
            .Select(b => new InMemoryPatchSource(ModelFixtures.FormulaTensor(new long[] { 12, 1, 16, 16 }, phase: b)))
            .ToArray();

        using var result = new IterativePatchSelector(net).Select(images, CPU);
        Assert.Equal(new long[] { 2, 3, 1, 16, 16 }, result.Patches.shape);
        Assert.Equal(new long[] { 2, 3, 128 }, result.PositionalEncoding!.shape);

        using var embedded = net.Embed(result.Patches);
        Assert.Equal(new long[] { 2, 3, 128 }, embedded.shape);
        var outputs = net.forward(result.Patches, result.PositionalEncoding);
        Assert.Equal(new[] { "majority", "max", "top", "multi" }, outputs.Keys);
        Assert.Equal(new long[] { 2, 10 }, outputs["majority"].shape);
        Assert.True(outputs["majority"].sum(1).allclose(ones(2)));
        Assert.True(outputs["multi"].min().item<float>() > 0 && outputs["multi"].max().item<float>() < 1);
        foreach (var output in outputs.Values)
        {
            output.Dispose();
        }
        DisposeAll(images);
    }

    /// <summary>q_w(q) . k_w(emb [+ pe]) for every patch of <paramref name="image"/>, in eval mode.</summary>
    private static double[] GlobalLogits(IpsNet net, IPatchSource image)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var state = net.state_dict();
        var emb = net.Embed(image.Read(0, image.Count).unsqueeze(0))[0];          // [N, D]
        if (net.PositionalEncoding is { } pe)
        {
            emb = emb + pe;
        }
        var query = state["transf.crs_attn.q"][0, 0].matmul(state["transf.crs_attn.q_w.weight"].t()); // [D_k]
        var keys = emb.matmul(state["transf.crs_attn.k_w.weight"].t());                                   // [N, D_k]
        return keys.matmul(query).to(float64).data<double>().ToArray();
    }

    private static List<(string, bool)> Modes(IpsNet net) =>
        net.named_modules().Select(m => (m.name, m.module.training)).ToList();

    private static void DisposeAll(IEnumerable<IPatchSource> sources)
    {
        foreach (var source in sources)
        {
            source.Dispose();
        }
    }
}
