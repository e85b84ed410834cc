using Ips.Modeling;
using Ips.Tests.Modeling;
using static TorchSharp.torch;

namespace Ips.Tests.Inference;

/// <summary>
/// The attention a prediction reports comes from its forward pass: the same numbers, bit for bit, as the second
/// encoding of the selected patches the predictor used to run to read it, and the same probabilities as the plain
/// forward pass.
/// </summary>
public sealed class ForwardAttentionTests
{
    public static TheoryData<string> Configs() => ["features", "image"];

    [Theory]
    [MemberData(nameof(Configs))]
    public void Forward_with_attention_equals_the_forward_pass_and_a_second_encoding(string kind)
    {
        var config = kind == "image" ? ModelFixtures.SmallImageConfig() : ModelFixtures.SmallFeatureConfig();
        using var net = new IpsNet(config);
        net.eval();
        var generator = new TorchSharp.torch.Generator(7);
        long[] patchShape = kind == "image" ? [1, 16, 16] : [config.NChanIn];
        using var patches = rand([2, config.M, .. patchShape], generator: generator); // [B, M, *patch]
        using var positions = rand([2, config.M, config.D], generator: generator);     // [B, M, D]
        using var _ = no_grad();

        var plain = net.forward(patches, positions);
        var (predictions, attention) = net.ForwardWithAttention(patches, positions);
        using var embedded = net.Embed(patches) + positions;
        using var again = net.Transformer.Attention(embedded);

        Assert.Equal([2L, config.H, config.NToken, config.M], attention.shape);
        Assert.True(attention.eq(again).all().item<bool>(), "the forward pass's attention differs from a second encoding's");
        foreach (var task in config.Tasks)
        {
            Assert.True(predictions[task.Name].eq(plain[task.Name]).all().item<bool>(), $"task {task.Name}: probabilities differ from forward's");
        }
        // What the prediction reports per patch: the mean over heads and tokens.
        using var scores = attention.mean([1, 2]);
        using var before = again.mean([1, 2]);
        Assert.Equal(before.data<float>().ToArray(), scores.data<float>().ToArray());
        attention.Dispose();
        foreach (var tensor in plain.Values.Concat(predictions.Values))
        {
            tensor.Dispose();
        }
    }
}
