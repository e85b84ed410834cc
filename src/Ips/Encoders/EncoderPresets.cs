namespace Ips.Encoders;

/// <summary>
/// A published pathology tile encoder, by the name <c>--encoder</c> takes (<c>--encoder uni --encoder-weights
/// FILE_OR_DIR</c>): its network, key layout, pooling and preprocessing as its authors load it. docs/encoders.md lists
/// where each value comes from.
/// </summary>
/// <param name="Name">The preset's name, e.g. <c>uni2-h</c>.</param>
/// <param name="Architecture">The network: a timm model name, <c>transformers vit</c>/<c>dinov2</c>, or a ResNet.</param>
/// <param name="Layout">Key layout of the published weights: <c>timm</c>, <c>vit</c>, <c>dinov2</c> (transformers) or
/// <c>torchvision</c> (a ResNet state_dict).</param>
/// <param name="Vit">The vision transformer (its pooling the preset's), or null for a ResNet.</param>
/// <param name="ResNetStages">For a ResNet, the residual stages kept (3: cut after <c>layer3</c>, as CLAM); else 0.</param>
/// <param name="Preprocessing">How tiles become the network's input.</param>
/// <param name="Width">Width of a feature vector.</param>
/// <param name="Magnification">The magnification the model was trained at, as its authors state it.</param>
/// <param name="Source">Where the values come from, in a few words.</param>
public sealed record EncoderPreset(
    string Name, string Architecture, string Layout, VitConfig? Vit, int ResNetStages, TilePreprocessing Preprocessing, int Width, string Magnification, string Source);

/// <summary>The published encoders <c>--encoder NAME</c> knows (docs/encoders.md has the table with sources).</summary>
public static class EncoderPresets
{
    private static readonly float[] HOptimusMean = [0.707223f, 0.578729f, 0.703617f];
    private static readonly float[] HOptimusStd = [0.211883f, 0.230117f, 0.177517f];

    private static TilePreprocessing ImageNet(int input, string interpolation, double cropPct = 1.0) =>
        new(input, cropPct, interpolation, ImageNetNormalisation.Mean, ImageNetNormalisation.Std);

    private static VitConfig Timm(string name) => ((VitType)EncoderRegistry.Find(name)!).Config;

    /// <summary>Every preset, in the order <c>ips encoders</c> lists them.</summary>
    public static IReadOnlyList<EncoderPreset> All { get; } = Build();

    private static EncoderPreset[] Build()
    {
        const string Trident = "TRIDENT patch_encoder_models/load.py";
        var virchow = Timm("vit_huge_patch14_224") with
        {
            InitValues = 1e-5, MlpRatio = 5.3375, MlpLayer = "swiglu_packed", Activation = "silu", GlobalPool = "token+avg",
        };
        var hOptimus = Timm("vit_giant_patch14_reg4_dinov2") with { ImageSize = 224, GlobalPool = "token" };
        EncoderPreset Vit(string name, string architecture, VitConfig config, TilePreprocessing preprocessing, string magnification, string layout = "timm") =>
            new(name, architecture, layout, config, 0, preprocessing, config.WidthUnder(config.GlobalPool), magnification, Trident);
        return
        [
            Vit("uni", "vit_large_patch16_224", Timm("vit_large_patch16_224") with { InitValues = 1e-5 }, ImageNet(224, "bilinear"), "20x"),
            Vit("uni2-h", "vit_giant_patch14_224", Timm("vit_giant_patch14_224") with
            {
                Depth = 24, Heads = 24, EmbedDim = 1536, InitValues = 1e-5, MlpRatio = 2.66667 * 2, NoEmbedClass = true,
                MlpLayer = "swiglu_packed", Activation = "silu", RegTokens = 8,
            }, ImageNet(224, "bilinear"), "20x"),
            Vit("virchow", "vit_huge_patch14_224", virchow, ImageNet(224, "bicubic"), "20x (0.5 um/px)"),
            Vit("virchow2", "vit_huge_patch14_224", virchow with { RegTokens = 4 }, ImageNet(224, "bicubic"), "5x-40x (trained mixed)"),
            Vit("h-optimus-0", "vit_giant_patch14_reg4_dinov2", hOptimus, new TilePreprocessing(224, 1.0, "bilinear", HOptimusMean, HOptimusStd), "20x (0.5 um/px)"),
            Vit("h-optimus-1", "vit_giant_patch14_reg4_dinov2", hOptimus, new TilePreprocessing(224, 1.0, "bilinear", HOptimusMean, HOptimusStd), "20x (0.5 um/px)"),
            Vit("prov-gigapath", "vit_giant_patch14_dinov2", Timm("vit_giant_patch14_dinov2") with { ImageSize = 224, PatchSize = 16, MlpRatio = 5.33334 },
                ImageNet(224, "bicubic", cropPct: 224.0 / 256), "20x (0.5 um/px)"),
            Vit("phikon", "transformers vit", new VitConfig(224, 16, 768, 12, 12, LayerNormEps: 1e-12), ImageNet(224, "bilinear"), "20x", layout: "vit"),
            Vit("phikon-v2", "transformers dinov2", new VitConfig(224, 16, 1024, 24, 16, InitValues: 1.0, PositionResize: "dinov2"),
                ImageNet(224, "bilinear"), "20x", layout: "dinov2"),
            new("resnet50-trunc", "resnet50", "torchvision", null, 3, ImageNet(224, "bilinear"), 1024, "20x (CLAM's default)",
                "CLAM resnet_custom.py; " + Trident),
        ];
    }

    /// <summary>The preset called <paramref name="name"/>, or null.</summary>
    public static EncoderPreset? Find(string name) => All.FirstOrDefault(preset => preset.Name == name);
}

/// <summary>What <c>--encoder</c> and its companion options ask for.</summary>
/// <param name="Encoder">A preset name, a hub model folder, or a ResNet/BYOL file.</param>
/// <param name="Weights">With a preset, its weights file or the folder holding it (<c>--encoder-weights</c>); else null.</param>
/// <param name="Pool">A vision transformer's pooling instead of its config's (<c>--pool</c>), or null.</param>
/// <param name="Normalisation"><c>auto</c>, <c>imagenet</c> or <c>none</c> (<c>--normalize</c>).</param>
public sealed record EncoderChoice(string Encoder, string? Weights = null, string? Pool = null, string Normalisation = "auto");
