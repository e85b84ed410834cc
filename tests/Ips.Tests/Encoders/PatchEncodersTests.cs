using Ips.Encoders;
using Ips.IO;
using Ips.Modeling;
using Ips.Tests.Modeling;
using TorchSharp;

namespace Ips.Tests.Encoders;

/// <summary>The patch encoders: output widths, the cut, and ImageNet weights taken from a torchvision state_dict file.</summary>
public sealed class PatchEncodersTests : IDisposable
{
    private readonly string directory = Path.Combine(Path.GetTempPath(), "ips-encoders-" + Guid.NewGuid().ToString("N"));

    public PatchEncodersTests() => Directory.CreateDirectory(directory);

    public void Dispose() => Directory.Delete(directory, recursive: true);

    [Theory]
    [InlineData("resnet18", 2, 128)]
    [InlineData("resnet18", 4, 512)]
    [InlineData("resnet50", 2, 512)]
    [InlineData("resnet50", 4, 2048)]
    public void OutputWidthFollowsTheCut(string encType, int blocks, int width)
    {
        Assert.Equal(width, PatchEncoders.ConvOutputWidth(encType, blocks));
    }

    [Fact]
    public void ResNet18CutAfterLayer2EmbedsPatchesToD()
    {
        using var net = new IpsNet(ModelFixtures.SmallImageConfig());
        net.eval();
        using var patches = ModelFixtures.FormulaTensor(new long[] { 2, 5, 1, 16, 16 });
        using var embedded = net.Embed(patches);
        Assert.Equal(new long[] { 2, 5, 128 }, embedded.shape);
        // conv1, bn1, relu, maxpool, layer1, layer2, avgpool: the official sequential without layer3/4.
        Assert.Equal(7, net.Encoder.named_children().Count());
    }

    [Fact]
    public void FeatureProjectorHasTheOfficialLayout()
    {
        using var projector = PatchEncoders.Projector(16, 8);
        Assert.Equal(
            new[] { "1.weight", "1.bias", "2.weight", "2.bias", "2.running_mean", "2.running_var", "2.num_batches_tracked" }.Order(),
            projector.state_dict().Keys.Order());
    }

    [Fact]
    public void DMustMatchTheEncoderWidth()
    {
        var error = Assert.Throws<ArgumentException>(() => new IpsNet(ModelFixtures.SmallImageConfig() with { D = 64 }));
        Assert.Contains("D (64)", error.Message);
        Assert.Contains("128", error.Message);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(1)]
    public void PretrainedWeightsComeFromATorchvisionStateDict(int channels)
    {
        using var imagenet = torchvision.models.resnet18();
        var path = Path.Combine(directory, "resnet18.pth");
        StateDictIO.Save(imagenet, path);
        var reference = imagenet.state_dict();

        var config = ModelFixtures.SmallImageConfig() with { NChanIn = channels, Pretrained = true, PretrainedWeights = path };
        using var net = new IpsNet(config);
        var encoder = net.Encoder.state_dict();

        Assert.True(encoder["1.running_var"].allclose(reference["bn1.running_var"], rtol: 0, atol: 0));
        Assert.True(encoder["5.0.downsample.0.weight"].allclose(reference["layer2.0.downsample.0.weight"], rtol: 0, atol: 0));
        Assert.True(encoder["4.1.conv2.weight"].allclose(reference["layer1.1.conv2.weight"], rtol: 0, atol: 0));
        if (channels == 3)
        {
            Assert.True(encoder["0.weight"].allclose(reference["conv1.weight"], rtol: 0, atol: 0));
        }
        else
        {
            Assert.Equal(new long[] { 64, 1, 7, 7 }, encoder["0.weight"].shape);
        }

        using var patches = ModelFixtures.FormulaTensor(new long[] { 1, 2, channels, 16, 16 });
        using var embedded = net.Embed(patches);
        Assert.Equal(new long[] { 1, 2, 128 }, embedded.shape);
    }

    [Fact]
    public void PretrainedFilesWithoutBatchCountersStillLoad()
    {
        using var imagenet = torchvision.models.resnet18();
        var state = imagenet.state_dict()
            .Where(entry => !entry.Key.EndsWith("num_batches_tracked", StringComparison.Ordinal))
            .ToDictionary(entry => entry.Key, entry => entry.Value);
        Assert.Equal(20, imagenet.state_dict().Count - state.Count);
        var path = Path.Combine(directory, "old-torchvision.pt");
        using (var stream = File.Create(path))
        {
            TorchSharp.PyBridge.PyTorchPickler.PickleStateDict(stream, state, leaveOpen: false);
        }

        using var net = new IpsNet(ModelFixtures.SmallImageConfig() with { NChanIn = 3, Pretrained = true, PretrainedWeights = path });
        Assert.True(net.Encoder.state_dict()["0.weight"].allclose(state["conv1.weight"], rtol: 0, atol: 0));
    }

    [Fact]
    public void PretrainedResNet50NeedsAWeightsFile()
    {
        // Only resnet18 ships with ImageNet weights (Encoders/PretrainedWeights); resnet50 needs the user's file.
        var noPath = Assert.Throws<ArgumentException>(
            () => new IpsNet(ModelFixtures.SmallImageConfig() with { Pretrained = true, EncType = "resnet50", D = 512 }));
        Assert.Contains("pretrained_weights", noPath.Message);

        var absent = Path.Combine(directory, "absent.pth");
        var notFound = Assert.Throws<FileNotFoundException>(
            () => new IpsNet(ModelFixtures.SmallImageConfig() with { Pretrained = true, PretrainedWeights = absent }));
        Assert.Contains(absent, notFound.Message);
    }

    [Fact]
    public void PretrainedWeightsOfTheWrongArchitectureAreRejected()
    {
        var path = Path.Combine(directory, "projector.safetensors");
        using (var projector = PatchEncoders.Projector(4, 4))
        {
            StateDictIO.Save(projector, path);
        }
        var error = Assert.Throws<InvalidDataException>(
            () => new IpsNet(ModelFixtures.SmallImageConfig() with { Pretrained = true, PretrainedWeights = path }));
        Assert.Contains("missing", error.Message);
        Assert.Contains("layer1.0.conv1.weight", StateDictMismatch.Details(error));
    }
}
