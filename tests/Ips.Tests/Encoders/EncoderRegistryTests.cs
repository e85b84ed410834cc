using Ips.Encoders;
using static TorchSharp.torch;

namespace Ips.Tests.Encoders;

/// <summary>The registry's figures are those of the networks it builds, and an unknown name is refused with the list.</summary>
public sealed class EncoderRegistryTests
{
    /// <summary>Every ResNet of the registry, so that an added line is checked without touching this test.</summary>
    public static TheoryData<string> ResNets => [.. EncoderRegistry.ResNetNames];

    [Theory]
    [MemberData(nameof(ResNets))]
    public void StageWidthsAreTheChannelsTheBuiltNetworkProducesAfterEachStage(string name)
    {
        var type = EncoderRegistry.ResNet(name);
        using var resnet = type.Create();
        resnet.eval();
        var parts = resnet.named_children().ToDictionary(child => child.name, child => (nn.Module<Tensor, Tensor>)child.module);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var x = parts["maxpool"].call(parts["relu"].call(parts["bn1"].call(parts["conv1"].call(zeros(1, 3, 64, 64)))));
        var widths = new List<int>();
        foreach (var stage in new[] { "layer1", "layer2", "layer3", "layer4" })
        {
            x = parts[stage].call(x);
            widths.Add((int)x.shape[1]);
        }
        Assert.Equal(widths, type.StageWidths);
        Assert.Equal(widths[^1], type.Width);
        using var backbone = new ResNetBackbone(name);
        Assert.Equal(type.Width, backbone.OutputDim);
    }

    [Fact]
    public void UnknownNameIsRefusedNamingTheKnownOnes()
    {
        var error = Assert.Throws<ArgumentException>(() => EncoderRegistry.ResNet("resnet34x"));
        Assert.Contains("'resnet34x'", error.Message, StringComparison.Ordinal);
        Assert.Contains("resnet18, resnet50", error.Message, StringComparison.Ordinal);
    }
}
