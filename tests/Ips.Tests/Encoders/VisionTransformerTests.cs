using Ips.Encoders;
using Ips.IO;
using static TorchSharp.torch;

namespace Ips.Tests.Encoders;

/// <summary>
/// The ViT of timm (and transformers' ViT and DINOv2 layouts mapped onto it) against independent references at small
/// size: torchvision's own VisionTransformer for the plain ViT, and make_vit_fixtures.py's functions, written from
/// timm's and transformers' code, for registers, LayerScale, SwiGLUPacked, no_embed_class, avg and token+avg pooling,
/// positional-embedding interpolation and the transformers layouts.
/// </summary>
public sealed class VisionTransformerTests
{
    [Theory]
    [InlineData("torchvision_vit", null, 64)]            // torchvision vit_b_16's architecture, class token
    [InlineData("registers_swiglu", "token+avg", 192)]   // registers, LayerScale, SwiGLUPacked, no_embed_class, 40-px tiles
    [InlineData("embed_class_interpolated", null, 64)]   // prefix positions in the embedding, 48-px tiles resampled
    [InlineData("avg_fc_norm", null, 64)]                // avg pooling, fc_norm, no qkv bias, silu MLP
    [InlineData("hf_vit", null, 64)]                     // transformers ViTModel layout, eps 1e-12
    [InlineData("hf_dinov2", null, 64)]                  // transformers Dinov2Model layout, its own interpolation
    public void Features_match_the_reference(string fixture, string? pool, int width)
    {
        var folder = HubFolder.Read(VitFixtures.Folder(fixture));
        using var network = new VisionTransformer(folder.Config, pool);
        var state = folder.ReadWeights();
        StateDictIO.LoadInto(network, state, folder.WeightsPath);
        network.eval();
        var (input, expected) = VitFixtures.InputOutput(fixture);
        using var _ = no_grad();
        var actual = network.call(input);

        Assert.Equal(width, network.OutputDim);
        Assert.Equal(expected.shape, actual.shape);
        Assert.True(VitFixtures.RelativeMaxDifference(actual, expected) < 1e-4,
            $"{fixture}: relative max difference {VitFixtures.RelativeMaxDifference(actual, expected):E2}");
    }

    [Fact]
    public void Resampled_positions_change_the_features_of_another_tile_size()
    {
        // A ViT given nearest-neighbour positions for the 6 x 6 grid of 48-px tiles (img_size 48) gives other features
        // than the reference: the match above rests on timm's bicubic resampling, not on the positions mattering little.
        var folder = HubFolder.Read(VitFixtures.Folder("embed_class_interpolated"));
        var state = folder.ReadWeights();
        using var network = new VisionTransformer(folder.Config);
        StateDictIO.LoadInto(network, state, "fixture");
        network.eval();
        var (input, expected) = VitFixtures.InputOutput("embed_class_interpolated");
        using var nearest = nn.functional.interpolate(state["pos_embed"].narrow(1, 2, 16).reshape(1, 4, 4, 64).permute(0, 3, 1, 2),
            size: [6, 6], mode: InterpolationMode.Nearest).permute(0, 2, 3, 1).reshape(1, 36, 64);
        using var other = new VisionTransformer(folder.Config with { ImageSize = 48 });
        state["pos_embed"] = cat([state["pos_embed"].narrow(1, 0, 2), nearest], 1);
        StateDictIO.LoadInto(other, state, "fixture");
        other.eval();
        using var _ = no_grad();

        Assert.True(VitFixtures.RelativeMaxDifference(network.call(input), expected) < 1e-4);
        Assert.True(VitFixtures.RelativeMaxDifference(other.call(input), expected) > 1e-3);
    }

    [Fact]
    public void A_model_that_pools_nothing_needs_a_pool()
    {
        var folder = HubFolder.Read(VitFixtures.Folder("registers_swiglu"));

        var error = Assert.Throws<ArgumentException>(() => new VisionTransformer(folder.Config, source: "registers_swiglu"));

        Assert.Contains("global_pool \"\"", error.Message, StringComparison.Ordinal);
        Assert.Contains("--pool token|avg|token+avg", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Token_and_avg_on_an_fc_norm_model_is_refused()
    {
        var folder = HubFolder.Read(VitFixtures.Folder("avg_fc_norm"));

        var error = Assert.Throws<ArgumentException>(() => new VisionTransformer(folder.Config, "token+avg", "avg_fc_norm"));

        Assert.Contains("fc_norm", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Avg_pool_on_a_class_token_model_averages_the_patch_tokens_only()
    {
        // torchvision_vit pools its class token; asking for avg and token+avg must give the mean of the patch tokens
        // after the final norm (the class token excluded), and the two concatenated.
        var folder = HubFolder.Read(VitFixtures.Folder("torchvision_vit"));
        var state = folder.ReadWeights();
        using var token = new VisionTransformer(folder.Config, "token");
        using var both = new VisionTransformer(folder.Config, "token+avg");
        using var avg = new VisionTransformer(folder.Config, "avg");
        foreach (var network in new[] { token, both, avg })
        {
            StateDictIO.LoadInto(network, state, "fixture");
            network.eval();
        }
        var (input, expected) = VitFixtures.InputOutput("torchvision_vit");
        using var _ = no_grad();
        var concatenated = both.call(input);

        Assert.True(VitFixtures.RelativeMaxDifference(concatenated.narrow(1, 0, 64), expected) < 1e-4);
        Assert.True(VitFixtures.RelativeMaxDifference(concatenated.narrow(1, 64, 64), avg.call(input)) < 1e-6);
        Assert.False(VitFixtures.RelativeMaxDifference(avg.call(input), token.call(input)) < 1e-2);
    }
}
