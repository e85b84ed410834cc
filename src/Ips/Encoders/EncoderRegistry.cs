using TorchSharp;
using TorchSharp.Modules;

namespace Ips.Encoders;

/// <summary>
/// One image-encoder architecture, by the name configs (<c>enc_type</c>), weight files and <c>--encoder</c> use.
/// </summary>
/// <param name="Name">The name, e.g. <c>resnet18</c>.</param>
/// <param name="Create">Builds the architecture with random weights, under torchvision's parameter names.</param>
/// <param name="StageWidths">Channels after each residual stage (<c>layer1</c>..<c>layer4</c>): the width of the
/// pooled output of the network cut after that stage.</param>
/// <param name="PackagedWeights">True when ImageNet weights ship with the project (see <see cref="PretrainedWeights"/>),
/// so <c>pretrained: true</c> needs no file of the user's.</param>
public sealed record EncoderType(string Name, Func<ResNet> Create, IReadOnlyList<int> StageWidths, bool PackagedWeights)
{
    /// <summary>Width of the pooled output of the network cut after <paramref name="stages"/> residual stages.</summary>
    public int WidthAfter(int stages) => StageWidths[stages - 1];

    /// <summary>Width of the pooled output of the whole network.</summary>
    public int Width => StageWidths[^1];
}

/// <summary>
/// Every image-encoder architecture the project builds: the IPS patch encoders of a config, the tile encoders of
/// feature extraction and BYOL's backbone all look their architecture up here, and the config validator reads its
/// names and widths. Adding an architecture is one line here plus, where it needs one, the file that builds it.
/// </summary>
public static class EncoderRegistry
{
    private static readonly EncoderType[] Types =
    [
        new("resnet18", () => torchvision.models.resnet18(), [64, 128, 256, 512], PackagedWeights: true),
        new("resnet50", () => torchvision.models.resnet50(), [256, 512, 1024, 2048], PackagedWeights: false),
    ];

    /// <summary>The names of the architectures, in registry order.</summary>
    public static IReadOnlyList<string> Names { get; } = [.. Types.Select(type => type.Name)];

    /// <summary>The architecture called <paramref name="name"/>, or null.</summary>
    public static EncoderType? Find(string name) => Types.FirstOrDefault(type => type.Name == name);

    /// <summary>The architecture called <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">No architecture has that name; the message lists the known ones.</exception>
    public static EncoderType Get(string name) =>
        Find(name) ?? throw new ArgumentException($"encoder '{name}' is not supported; expected one of {string.Join(", ", Names)}.", nameof(name));
}
