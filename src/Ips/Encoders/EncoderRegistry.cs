using TorchSharp;
using TorchSharp.Modules;

namespace Ips.Encoders;

/// <summary>
/// One image-encoder architecture, by the name configs (<c>enc_type</c>), weight files and <c>--encoder</c> use. Each
/// family (torchvision ResNets today) is a subclass that says how to build it; what every family has is here.
/// </summary>
/// <param name="Name">The name, e.g. <c>resnet18</c>.</param>
/// <param name="Width">Width of the pooled feature vector of the whole network.</param>
/// <param name="PackagedWeights">True when ImageNet weights ship with the project (see <see cref="PretrainedWeights"/>),
/// so <c>pretrained: true</c> needs no file of the user's.</param>
public abstract record EncoderType(string Name, int Width, bool PackagedWeights);

/// <summary>A torchvision ResNet: built by <c>torchvision.models</c> under torchvision's parameter names.</summary>
/// <param name="Name">The name, e.g. <c>resnet18</c>.</param>
/// <param name="Create">Builds the network with random weights.</param>
/// <param name="StageWidths">Channels after each residual stage (<c>layer1</c>..<c>layer4</c>): the width of the
/// pooled output of the network cut after that stage.</param>
/// <param name="PackagedWeights">True when ImageNet weights ship with the project.</param>
public sealed record ResNetType(string Name, Func<ResNet> Create, IReadOnlyList<int> StageWidths, bool PackagedWeights)
    : EncoderType(Name, StageWidths[^1], PackagedWeights)
{
    /// <summary>Width of the pooled output of the network cut after <paramref name="stages"/> residual stages.</summary>
    public int WidthAfter(int stages) => StageWidths[stages - 1];
}

/// <summary>
/// Every image-encoder architecture the project builds: the IPS patch encoders of a config, the tile encoders of
/// feature extraction and BYOL's backbone all look their architecture up here, and the config validator reads its
/// names and widths. Adding an architecture of a known family is one line here; a new family is one file in this
/// folder with its <see cref="EncoderType"/> subclass and builder, plus its lines here.
/// </summary>
public static class EncoderRegistry
{
    private static readonly EncoderType[] Types =
    [
        new ResNetType("resnet18", () => torchvision.models.resnet18(), [64, 128, 256, 512], PackagedWeights: true),
        new ResNetType("resnet50", () => torchvision.models.resnet50(), [256, 512, 1024, 2048], PackagedWeights: false),
    ];

    /// <summary>The names of the ResNets: the architectures an IPS image patch encoder (<c>enc_type</c>) can have.</summary>
    public static IReadOnlyList<string> ResNetNames { get; } = [.. Types.OfType<ResNetType>().Select(type => type.Name)];

    /// <summary>The architecture called <paramref name="name"/>, or null.</summary>
    public static EncoderType? Find(string name) => Types.FirstOrDefault(type => type.Name == name);

    /// <summary>The ResNet called <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">No ResNet has that name; the message lists the known ones.</exception>
    public static ResNetType ResNet(string name) =>
        Find(name) as ResNetType
        ?? throw new ArgumentException($"encoder '{name}' is not supported; expected one of {string.Join(", ", ResNetNames)}.", nameof(name));
}
