using Ips.Pretraining;
using static TorchSharp.torch;

namespace Ips.Tests.Pretraining;

/// <summary>BYOL's loss, EMA target update, tau schedule and LARS step against hand-computed values.</summary>
public sealed class ByolMathTests
{
    [Fact]
    public void Loss_is_zero_for_vectors_pointing_the_same_way_and_four_for_opposite_ones()
    {
        using var p = tensor(new float[] { 1, 2, 3, -1, 0, 2 }, [2, 3]);
        using var same = p * 3.5f; // the loss normalises, so the length does not matter
        using var opposite = -p;
        using var orthogonal = tensor(new float[] { 3, 0, -1, 0, 5, 0 }, [2, 3]);

        Assert.Equal(0.0, ByolLoss.Pair(p, same).item<float>(), 1e-6);
        Assert.Equal(4.0, ByolLoss.Pair(p, opposite).item<float>(), 1e-6);
        Assert.Equal(2.0, ByolLoss.Pair(p, orthogonal).item<float>(), 1e-6);
        // Symmetrised: view 1's prediction against view 2's target (opposite) plus view 2's against view 1's (same).
        Assert.Equal(4.0, ByolLoss.Symmetric(p, p, same, opposite).item<float>(), 1e-6);
    }

    [Theory]
    [InlineData(0, 0.99)]
    [InlineData(25, 0.9914644660940672)] // 1 - 0.01 (cos(pi/4) + 1) / 2
    [InlineData(50, 0.995)] // 1 - 0.01 (0 + 1) / 2
    [InlineData(100, 1.0)]
    public void Tau_rises_from_tau_base_to_one_on_a_cosine(long step, double expected) =>
        Assert.Equal(expected, ByolLoss.Tau(step, 100, 0.99), 1e-12);

    [Fact]
    public void Ema_update_moves_each_target_parameter_towards_the_online_one_by_one_minus_tau()
    {
        using var target = nn.Linear(2, 1);
        using var online = nn.Linear(2, 1);
        using (no_grad())
        {
            target.weight!.copy_(tensor(new float[] { 1, 2 }, [1, 2]));
            target.bias!.copy_(tensor(new float[] { -1 }));
            online.weight!.copy_(tensor(new float[] { 3, -2 }, [1, 2]));
            online.bias!.copy_(tensor(new float[] { 1 }));
        }

        ByolNetwork.EmaUpdate(target, online, 0.9);

        // 0.9 * 1 + 0.1 * 3 = 1.2; 0.9 * 2 + 0.1 * (-2) = 1.6; 0.9 * (-1) + 0.1 * 1 = -0.8.
        Assert.Equal(new[] { 1.2f, 1.6f }, target.weight!.data<float>().ToArray(), new FloatTolerance(1e-6f));
        Assert.Equal(-0.8f, target.bias!.item<float>(), 1e-6f);
        Assert.Equal(new[] { 3f, -2f }, online.weight!.data<float>().ToArray());
    }

    [Fact]
    public void Target_starts_as_a_copy_of_the_online_network_and_gets_no_gradient()
    {
        using var net = new ByolNetwork(ByolTestData.TinyConfig());
        var online = net.Online.state_dict();
        foreach (var (key, value) in net.Target.state_dict())
        {
            Assert.True(value.allclose(online[key], rtol: 0, atol: 0), key);
        }
        Assert.All(net.Target.parameters(), p => Assert.False(p.requires_grad));
        Assert.DoesNotContain(net.TrainableParameters(), p => p.Name.StartsWith("target.", StringComparison.Ordinal));
        Assert.Contains(net.TrainableParameters(), p => p.Name.StartsWith("predictor.", StringComparison.Ordinal));
    }

    [Fact]
    public void Lars_scales_weight_updates_by_the_trust_ratio_and_leaves_biases_plain_sgd_with_momentum()
    {
        using var weight = nn.Parameter(tensor(new float[] { 3, 0, 0, 4 }, [2, 2])); // ||w|| = 5
        using var bias = nn.Parameter(tensor(new float[] { 1, -1 }));
        using var lars = new Lars([("w", weight), ("b", bias)], momentum: 0.9, weightDecay: 0.1, trustCoefficient: 0.001) { LearningRate = 0.5 };
        Assert.Equal(["b"], lars.Excluded);

        void SetGradients()
        {
            // The gradient of sum(w * G) + sum(b * g) is G for w and g for b.
            lars.ZeroGrad();
            using var loss = (weight * tensor(new float[] { 1, 0, 0, 0 }, [2, 2])).sum() + (bias * tensor(new float[] { 0.5f, 0.5f })).sum();
            loss.backward();
        }

        SetGradients();
        lars.Step();
        // d = g + 0.1 w = [1.3, 0, 0, 0.4], ||d|| = sqrt(1.85); trust = 0.001 * 5 / sqrt(1.85) = 0.003676073110469039;
        // w = w - 0.5 * trust * d.
        Assert.Equal(new[] { 2.997610552478195f, 0f, 0f, 3.999264785377906f }, weight.data<float>().ToArray(), new FloatTolerance(1e-6f));
        // Bias: no decay, no trust ratio: b = b - 0.5 * g.
        Assert.Equal(new[] { 0.75f, -1.25f }, bias.data<float>().ToArray(), new FloatTolerance(1e-6f));

        SetGradients();
        lars.Step();
        // Momentum: m = 0.9 * 0.5 + 0.5 = 0.95; b = 0.75 - 0.5 * 0.95.
        Assert.Equal(new[] { 0.275f, -1.725f }, bias.data<float>().ToArray(), new FloatTolerance(1e-6f));
    }

    [Fact]
    public void Lars_state_round_trips_and_a_mismatch_names_the_source()
    {
        using var weight = nn.Parameter(tensor(new float[] { 3, 0, 0, 4 }, [2, 2]));
        using var lars = new Lars([("w", weight)], 0.9, 0, 0.001) { LearningRate = 0.1 };
        using (var loss = weight.sum())
        {
            loss.backward();
        }
        lars.Step();
        using var other = new Lars([("w", weight)], 0.9, 0, 0.001);
        other.LoadStateDict(lars.StateDict(), "test");
        Assert.True(other.StateDict()["w"].allclose(lars.StateDict()["w"], rtol: 0, atol: 0));

        var error = Assert.Throws<InvalidDataException>(() => other.LoadStateDict(new Dictionary<string, Tensor> { ["v"] = zeros(2, 2) }, "file.ckpt"));
        Assert.Contains("file.ckpt", error.Message, StringComparison.Ordinal);
    }

    private sealed class FloatTolerance(float tolerance) : IEqualityComparer<float>
    {
        public bool Equals(float x, float y) => Math.Abs(x - y) <= tolerance;

        public int GetHashCode(float obj) => 0;
    }
}
