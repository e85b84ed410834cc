using Ips.Modeling;
using static TorchSharp.torch;

namespace Ips.Tests.Modeling;

/// <summary>
/// The network's numbers against an independent plain-C# implementation of the equations of docs/design.md section 2
/// (feature projector, cross-attention, MLP, heads), with weights set from a formula and the model in eval mode.
/// </summary>
public sealed class IpsNetGoldenTests
{
    private const int B = 2, L = 5, C = 8, D = 8, H = 2, DK = 4, DV = 4, DInner = 16, T = 2;

    [Fact]
    public void ForwardMatchesHandWrittenReference()
    {
        using var net = new IpsNet(ModelFixtures.SmallFeatureConfig());
        var w = ModelFixtures.SetDeterministicWeights(net);
        net.eval();

        using var x = ModelFixtures.FormulaTensor(new long[] { B, L, C });
        var xs = x.data<float>().Select(v => (double)v).ToArray();
        var pe = ReferencePositionalEncoding(L, D);
        using var pos = tensor(Enumerable.Range(0, B).SelectMany(_ => pe).Select(v => (float)v).ToArray()).view(B, L, D);

        var outputs = net.forward(x, pos);

        for (var b = 0; b < B; b++)
        {
            var emb = new double[L][];
            for (var l = 0; l < L; l++)
            {
                emb[l] = Add(Project(w, xs.AsSpan((b * L + l) * C, C).ToArray()), pe.AsSpan(l * D, D).ToArray());
            }
            var (tokens, _) = Transformer(w, emb);

            var cls = Softmax(Linear(w["output_layers.cls.0.weight"], w["output_layers.cls.0.bias"], tokens[0]));
            var bin = Linear(w["output_layers.bin.0.weight"], w["output_layers.bin.0.bias"], tokens[1]).Select(Sigmoid).ToArray();

            AssertClose(cls, outputs["cls"][b]);
            AssertClose(bin, outputs["bin"][b]);
        }
        Assert.Equal(new long[] { B, 3 }, outputs["cls"].shape);
        Assert.Equal(new long[] { B, 1 }, outputs["bin"].shape);
        foreach (var output in outputs.Values)
        {
            output.Dispose();
        }
    }

    [Fact]
    public void ScoresAreAttentionAveragedOverHeadsThenTokens()
    {
        using var net = new IpsNet(ModelFixtures.SmallFeatureConfig());
        var w = ModelFixtures.SetDeterministicWeights(net);
        net.eval();

        using var emb = ModelFixtures.FormulaTensor(new long[] { B, L, D }, phase: 0.5);
        var es = emb.data<float>().Select(v => (double)v).ToArray();
        using var scores = net.Transformer.Scores(emb);
        using var attention = net.Transformer.Attention(emb);
        Assert.Equal(new long[] { B, L }, scores.shape);
        Assert.Equal(new long[] { B, H, T, L }, attention.shape);

        for (var b = 0; b < B; b++)
        {
            var rows = Enumerable.Range(0, L).Select(l => es.AsSpan((b * L + l) * D, D).ToArray()).ToArray();
            var (_, attn) = Transformer(w, rows);
            var expected = new double[L];
            for (var l = 0; l < L; l++)
            {
                for (var h = 0; h < H; h++)
                {
                    for (var t = 0; t < T; t++)
                    {
                        expected[l] += attn[h, t, l] / (H * T);
                        Assert.Equal(attn[h, t, l], attention[b, h, t, l].item<float>(), 1e-5);
                    }
                }
            }
            AssertClose(expected, scores[b]);
        }
    }

    [Fact]
    public void PositionalEncodingMatchesFormula()
    {
        using var pe = PositionalEncoding.Sinusoidal1d(4, 3);
        Assert.Equal(new long[] { 3, 4 }, pe.shape);
        Assert.Equal(ScalarType.Float32, pe.dtype);
        // Row p: sin(p), cos(p), sin(p / 100), cos(p / 100): w_1 = 10000^(-2/4) = 0.01.
        var expected = new double[,]
        {
            { 0, 1, 0, 1 },
            { Math.Sin(1), Math.Cos(1), Math.Sin(0.01), Math.Cos(0.01) },
            { Math.Sin(2), Math.Cos(2), Math.Sin(0.02), Math.Cos(0.02) },
        };
        for (var p = 0; p < 3; p++)
        {
            for (var d = 0; d < 4; d++)
            {
                Assert.Equal(expected[p, d], pe[p, d].item<float>(), 1e-6);
            }
        }

        using var wide = PositionalEncoding.Sinusoidal1d(128, 900);
        Assert.Equal(Math.Sin(899 * Math.Pow(10000, -10.0 / 128)), wide[899, 10].item<float>(), 1e-3);
        Assert.Equal(Math.Cos(7 * Math.Pow(10000, -64.0 / 128)), wide[7, 65].item<float>(), 1e-5);
    }

    [Fact]
    public void OddWidthIsRejectedNamingD()
    {
        var error = Assert.Throws<ArgumentException>(() => PositionalEncoding.Sinusoidal1d(5, 3));
        Assert.Contains("D=5", error.Message);
    }

    [Fact]
    public void PositionalTableIsNotInStateDictAndHasShapeND()
    {
        using var net = new IpsNet(ModelFixtures.SmallFeatureConfig(n: 7));
        Assert.NotNull(net.PositionalEncoding);
        Assert.Equal(new long[] { 7, D }, net.PositionalEncoding!.shape);
        Assert.DoesNotContain(net.state_dict().Keys, key => key.Contains("pos", StringComparison.Ordinal));
        Assert.Throws<ArgumentException>(() => new IpsNet(ModelFixtures.SmallFeatureConfig() with { N = null }));
    }

    [Fact]
    public void QueryInitialisationIsWithinBound()
    {
        using var attention = new MultiHeadCrossAttention(nToken: 64, H: 2, D: 32, dK: 16, dV: 16, attnDropout: 0.1, dropout: 0.1);
        var q = attention.state_dict()["q"];
        Assert.Equal(new long[] { 1, 64, 32 }, q.shape);
        var bound = Math.Sqrt(1.0 / 16);
        Assert.True(q.abs().max().item<float>() <= bound);
        Assert.True(q.abs().max().item<float>() > 0.8 * bound); // uniform over the whole range, not e.g. zeros
    }

    // ---- the reference implementation, in doubles ----

    private static double[] ReferencePositionalEncoding(int length, int width)
    {
        var pe = new double[length * width];
        for (var p = 0; p < length; p++)
        {
            for (var i = 0; i < width / 2; i++)
            {
                var angle = p * Math.Exp(-2.0 * i * Math.Log(10000.0) / width);
                pe[p * width + 2 * i] = Math.Sin(angle);
                pe[p * width + 2 * i + 1] = Math.Cos(angle);
            }
        }
        return pe;
    }

    /// <summary>LayerNorm (no affine) -> Linear -> BatchNorm1d (eval) -> ReLU.</summary>
    private static double[] Project(Dictionary<string, double[]> w, double[] x)
    {
        var normed = LayerNorm(x, null, null, 1e-5);
        var z = Linear(w["encoder.1.weight"], w["encoder.1.bias"], normed);
        var y = new double[z.Length];
        for (var i = 0; i < z.Length; i++)
        {
            var bn = (z[i] - w["encoder.2.running_mean"][i]) / Math.Sqrt(w["encoder.2.running_var"][i] + 1e-5)
                     * w["encoder.2.weight"][i] + w["encoder.2.bias"][i];
            y[i] = Math.Max(0, bn);
        }
        return y;
    }

    /// <summary>Cross-attention + MLP; returns the tokens [T][D] and the attention [H, T, L].</summary>
    private static (double[][] Tokens, double[,,] Attention) Transformer(Dictionary<string, double[]> w, double[][] emb)
    {
        var q = w["transf.crs_attn.q"];
        var queries = Enumerable.Range(0, T).Select(t => Linear(w["transf.crs_attn.q_w.weight"], null, q.AsSpan(t * D, D).ToArray())).ToArray();
        var keys = emb.Select(e => Linear(w["transf.crs_attn.k_w.weight"], null, e)).ToArray();
        var values = emb.Select(e => Linear(w["transf.crs_attn.v_w.weight"], null, e)).ToArray();

        var attention = new double[H, T, emb.Length];
        var tokens = new double[T][];
        for (var t = 0; t < T; t++)
        {
            var concat = new double[H * DV];
            for (var h = 0; h < H; h++)
            {
                var logits = new double[emb.Length];
                for (var l = 0; l < emb.Length; l++)
                {
                    for (var d = 0; d < DK; d++)
                    {
                        logits[l] += queries[t][h * DK + d] / Math.Sqrt(DK) * keys[l][h * DK + d];
                    }
                }
                var attn = Softmax(logits);
                for (var l = 0; l < emb.Length; l++)
                {
                    attention[h, t, l] = attn[l];
                    for (var d = 0; d < DV; d++)
                    {
                        concat[h * DV + d] += attn[l] * values[l][h * DV + d];
                    }
                }
            }
            var attended = Add(Linear(w["transf.crs_attn.fc.weight"], null, concat), q.AsSpan(t * D, D).ToArray());
            var y = LayerNorm(attended, w["transf.crs_attn.layer_norm.weight"], w["transf.crs_attn.layer_norm.bias"], 1e-6);
            var hidden = Linear(w["transf.mlp.w_1.weight"], w["transf.mlp.w_1.bias"], y).Select(v => Math.Max(0, v)).ToArray();
            var mlp = Add(Linear(w["transf.mlp.w_2.weight"], w["transf.mlp.w_2.bias"], hidden), y);
            tokens[t] = LayerNorm(mlp, w["transf.mlp.layer_norm.weight"], w["transf.mlp.layer_norm.bias"], 1e-6);
        }
        return (tokens, attention);
    }

    private static double[] Linear(double[] weight, double[]? bias, double[] x)
    {
        var outputs = weight.Length / x.Length;
        var y = new double[outputs];
        for (var o = 0; o < outputs; o++)
        {
            y[o] = bias?[o] ?? 0;
            for (var i = 0; i < x.Length; i++)
            {
                y[o] += weight[o * x.Length + i] * x[i];
            }
        }
        return y;
    }

    private static double[] LayerNorm(double[] x, double[]? gamma, double[]? beta, double eps)
    {
        var mean = x.Average();
        var variance = x.Select(v => (v - mean) * (v - mean)).Average();
        return x.Select((v, i) => (v - mean) / Math.Sqrt(variance + eps) * (gamma?[i] ?? 1) + (beta?[i] ?? 0)).ToArray();
    }

    private static double[] Softmax(double[] x)
    {
        var max = x.Max();
        var e = x.Select(v => Math.Exp(v - max)).ToArray();
        var sum = e.Sum();
        return e.Select(v => v / sum).ToArray();
    }

    private static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));

    private static double[] Add(double[] a, double[] b) => a.Select((v, i) => v + b[i]).ToArray();

    private static void AssertClose(double[] expected, Tensor actual)
    {
        var values = actual.data<float>().ToArray();
        Assert.Equal(expected.Length, values.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i], values[i], 1e-5);
        }
    }
}
