using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Ips.Encoders;

/// <summary>
/// A torchvision ResNet without its classifier: <c>conv1, bn1, relu, maxpool, layer1..layer4, avgpool</c> under
/// torchvision's names, so its state_dict is torchvision's minus <c>fc.*</c> and loads into
/// <c>torchvision.models.resnet50()</c> with <c>strict=False</c>. Maps <c>[B, 3, H, W]</c> to the pooled <c>[B, D]</c>
/// (D 2048 for resnet50, 512 for resnet18).
/// </summary>
public sealed class ResNetBackbone : Module<Tensor, Tensor>
{
    private static readonly string[] PartNames = ["conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4", "avgpool"];

    private readonly Module<Tensor, Tensor>[] _parts;
    private readonly int _stages;

    /// <summary>
    /// A randomly initialised backbone of <paramref name="architecture"/>, a name of <see cref="EncoderRegistry"/>, cut
    /// after <paramref name="stages"/> residual stages (3: CLAM's <c>resnet50_trunc</c>, 1024-d for resnet50).
    /// </summary>
    /// <exception cref="ArgumentException">The registry has no such architecture.</exception>
    public ResNetBackbone(string architecture, int stages = 4) : base(architecture)
    {
        var type = EncoderRegistry.ResNet(architecture);
        var resnet = type.Create();
        var children = resnet.named_children().ToDictionary(child => child.name, child => (Module<Tensor, Tensor>)child.module);
        var names = PartNames.Where(name => !name.StartsWith("layer", StringComparison.Ordinal) || name[^1] - '0' <= stages).ToArray();
        _parts = [.. names.Select(name => children[name])];
        for (var i = 0; i < names.Length; i++)
        {
            register_module(names[i], _parts[i]);
        }
        _stages = stages;
        OutputDim = type.WidthAfter(stages);
    }

    /// <summary>Width of the pooled output.</summary>
    public int OutputDim { get; }

    /// <summary>
    /// Loads torchvision ImageNet weights (a <c>resnet50-....pth</c> file; its <c>fc</c> and the stages cut off are
    /// ignored); <paramref name="source"/> names the file in errors (its path when null).
    /// </summary>
    public void LoadTorchvisionWeights(string path, string? source = null) =>
        PatchEncoders.LoadTorchvisionResNet(this, path, key => key.StartsWith("layer", StringComparison.Ordinal) && key[5] - '0' > _stages, source);

    /// <inheritdoc />
    public override Tensor forward(Tensor x) // [B, 3, H, W]
    {
        foreach (var part in _parts)
        {
            x = part.call(x);
        }
        return x.flatten(1); // [B, D]
    }
}
