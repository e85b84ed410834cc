using Ips.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace Ips.Tests.Modeling;

/// <summary>
/// The cross-attention folds its key and value projections into the queries (fewer multiply-adds per patch). These
/// tests hold it to the official formulation, projections first, written out here with the module's own weights,
/// at the Megapixel MNIST sizes (4 tokens, 8 heads, D 128, D_k 16) in float64: values and every gradient.
/// </summary>
public sealed class CrossAttentionFoldTests
{
    private const int Batch = 3, Length = 50, Tokens = 4, Heads = 8, Width = 128, DK = 16, DV = 16;

    [Fact]
    public void AttentionAndOutputEqualTheProjectFirstFormulation()
    {
        using var attention = NewModule();
        using var x = randn([Batch, Length, Width], dtype: ScalarType.Float64, generator: new Generator(1));

        using var weights = attention.Attention(x);
        using var output = attention.forward(x);
        var (expectedWeights, expectedOutput) = Reference(Parameters(attention), x);

        Assert.Equal(new long[] { Batch, Heads, Tokens, Length }, weights.shape);
        Assert.Equal(new long[] { Batch, Tokens, Width }, output.shape);
        Assert.True(weights.allclose(expectedWeights, rtol: 1e-10, atol: 1e-12), "attention weights differ");
        Assert.True(output.allclose(expectedOutput, rtol: 1e-10, atol: 1e-12), "attended tokens differ");
        Assert.Equal(1.0, weights.sum(-1).min().item<double>(), 12);
    }

    [Fact]
    public void GradientsEqualTheProjectFirstFormulation()
    {
        using var attention = NewModule();
        var parameters = Parameters(attention);
        using var x = randn([Batch, Length, Width], dtype: ScalarType.Float64, generator: new Generator(2)).requires_grad_();
        using var probe = randn([Batch, Tokens, Width], dtype: ScalarType.Float64, generator: new Generator(3));

        attention.forward(x).mul(probe).sum().backward();
        var folded = parameters.ToDictionary(p => p.Key, p => p.Value.grad!.clone());
        using var foldedInput = x.grad!.clone();
        attention.zero_grad();
        x.grad!.zero_();

        Reference(parameters, x).Output.mul(probe).sum().backward();

        Assert.True(foldedInput.allclose(x.grad!, rtol: 1e-9, atol: 1e-12), "gradient of the input differs");
        foreach (var (name, gradient) in folded)
        {
            Assert.True(gradient.abs().max().item<double>() > 0, $"{name} got no gradient");
            Assert.True(gradient.allclose(parameters[name].grad!, rtol: 1e-9, atol: 1e-12), $"gradient of {name} differs");
        }
    }

    private static MultiHeadCrossAttention NewModule()
    {
        torch.manual_seed(0);
        var attention = new MultiHeadCrossAttention(Tokens, Heads, Width, DK, DV, attnDropout: 0, dropout: 0);
        attention.to(ScalarType.Float64);
        return attention;
    }

    private static Dictionary<string, Tensor> Parameters(MultiHeadCrossAttention attention) =>
        attention.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter);

    /// <summary>The official order of operations: project queries, keys and values per head, then attend.</summary>
    private static (Tensor Weights, Tensor Output) Reference(Dictionary<string, Tensor> p, Tensor x)
    {
        var queries = nn.functional.linear(p["q"], p["q_w.weight"]).view(1, Tokens, Heads, DK).transpose(1, 2); // [1, H, T, D_k]
        var keys = nn.functional.linear(x, p["k_w.weight"]).view(Batch, Length, Heads, DK).transpose(1, 2);     // [B, H, L, D_k]
        var values = nn.functional.linear(x, p["v_w.weight"]).view(Batch, Length, Heads, DV).transpose(1, 2);   // [B, H, L, D_v]
        var weights = softmax(matmul(queries / Math.Sqrt(DK), keys.transpose(2, 3)), dim: -1);                  // [B, H, T, L]
        var concat = matmul(weights, values).transpose(1, 2).reshape(Batch, Tokens, Heads * DV);                 // [B, T, H*D_v]
        var y = nn.functional.linear(concat, p["fc.weight"]) + p["q"];
        var output = nn.functional.layer_norm(y, [Width], p["layer_norm.weight"], p["layer_norm.bias"], eps: 1e-6);
        return (weights, output);
    }
}
