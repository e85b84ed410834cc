using Ips.Encoders;
using Ips.IO;
using TorchSharp;
using static TorchSharp.torch;

namespace Ips.Tests.Encoders;

/// <summary>CLAM's ResNet-50 through layer3 (<c>resnet50-trunc</c>) from a full torchvision resnet50 state_dict.</summary>
public sealed class TruncatedResNetPresetTests : IDisposable
{
    private readonly TempFiles _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Features_are_the_pooled_layer3_output_of_the_full_network()
    {
        manual_seed(3);
        var weights = _temp.File("resnet50.pth");
        using var full = torchvision.models.resnet50();
        full.eval();
        StateDictIO.Save(full, weights);
        using var tiles = rand(2, 3, 224, 224);

        using var encoder = TileEncoder.Open(new EncoderChoice("resnet50-trunc", weights), CPU);
        var features = encoder.Encode(tiles);

        // torchvision's own modules, run by hand up to layer3 and average-pooled, on ImageNet-normalised tiles.
        using var _ = no_grad();
        var x = ImageNetNormalisation.Apply(tiles);
        var parts = full.named_children().ToDictionary(child => child.name, child => (nn.Module<Tensor, Tensor>)child.module);
        foreach (var name in new[] { "conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3" })
        {
            x = parts[name].call(x);
        }
        var expected = x.mean([2, 3]);
        Assert.Equal(1024, encoder.OutputDim);
        Assert.Equal("resnet50-trunc", encoder.Identity.Architecture);
        Assert.True((features - expected).abs().max().item<float>() < 1e-4f * expected.abs().max().item<float>());
    }
}
