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
/// A vision transformer under one of timm's model names, with every default timm's registry gives that name (a
/// <c>config.json</c>'s <c>model_args</c> override them).
/// </summary>
/// <param name="Name">timm's model name, e.g. <c>vit_large_patch16_224</c>.</param>
/// <param name="Config">The architecture timm builds for the name.</param>
public sealed record VitType(string Name, VitConfig Config) : EncoderType(Name, Config.WidthUnder(Config.GlobalPool), PackagedWeights: false);

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
        // timm's vision_transformer.py registrations of the names pathology models are published under.
        new VitType("vit_small_patch16_224", new VitConfig(224, 16, 384, 12, 6)),
        new VitType("vit_base_patch16_224", new VitConfig(224, 16, 768, 12, 12)),
        new VitType("vit_large_patch16_224", new VitConfig(224, 16, 1024, 24, 16)),
        new VitType("vit_huge_patch14_224", new VitConfig(224, 14, 1280, 32, 16)),
        new VitType("vit_giant_patch14_224", new VitConfig(224, 14, 1408, 40, 16, MlpRatio: 48 / 11.0)),
        new VitType("vit_small_patch14_dinov2", new VitConfig(518, 14, 384, 12, 6, InitValues: 1e-5)),
        new VitType("vit_base_patch14_dinov2", new VitConfig(518, 14, 768, 12, 12, InitValues: 1e-5)),
        new VitType("vit_large_patch14_dinov2", new VitConfig(518, 14, 1024, 24, 16, InitValues: 1e-5)),
        new VitType("vit_giant_patch14_dinov2",
            new VitConfig(518, 14, 1536, 40, 24, MlpRatio: 2.66667 * 2, MlpLayer: "swiglu_packed", Activation: "silu", InitValues: 1e-5)),
        new VitType("vit_small_patch14_reg4_dinov2", new VitConfig(518, 14, 384, 12, 6, InitValues: 1e-5, RegTokens: 4, NoEmbedClass: true)),
        new VitType("vit_base_patch14_reg4_dinov2", new VitConfig(518, 14, 768, 12, 12, InitValues: 1e-5, RegTokens: 4, NoEmbedClass: true)),
        new VitType("vit_large_patch14_reg4_dinov2", new VitConfig(518, 14, 1024, 24, 16, InitValues: 1e-5, RegTokens: 4, NoEmbedClass: true)),
        new VitType("vit_giant_patch14_reg4_dinov2",
            new VitConfig(518, 14, 1536, 40, 24, MlpRatio: 2.66667 * 2, MlpLayer: "swiglu_packed", Activation: "silu", InitValues: 1e-5, RegTokens: 4, NoEmbedClass: true)),
    ];

    /// <summary>The names of the ResNets: the architectures an IPS image patch encoder (<c>enc_type</c>) can have.</summary>
    public static IReadOnlyList<string> ResNetNames { get; } = [.. Types.OfType<ResNetType>().Select(type => type.Name)];

    /// <summary>The timm model names of the vision transformers a <c>config.json</c>'s <c>architecture</c> may give.</summary>
    public static IReadOnlyList<string> VitNames { get; } = [.. Types.OfType<VitType>().Select(type => type.Name)];

    /// <summary>The architecture called <paramref name="name"/>, or null.</summary>
    public static EncoderType? Find(string name) => Types.FirstOrDefault(type => type.Name == name);

    /// <summary>The ResNet called <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">No ResNet has that name; the message lists the known ones.</exception>
    public static ResNetType ResNet(string name) =>
        Find(name) as ResNetType
        ?? throw new ArgumentException($"encoder '{name}' is not supported; expected one of {string.Join(", ", ResNetNames)}.", nameof(name));
}
