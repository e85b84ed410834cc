using Ips.IO;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Ips.Encoders;

/// <summary>What the image patch encoder of an IPS network is: the config keys it is built from.</summary>
/// <param name="EncType">The architecture (<c>enc_type</c>), a name of <see cref="EncoderRegistry"/>.</param>
/// <param name="NResBlocks">Residual stages kept (<c>n_res_blocks</c>): 2 (cut after <c>layer2</c>) or 4.</param>
/// <param name="NChanIn">Input channels (<c>n_chan_in</c>): 1 (grey, a fresh first convolution) or 3.</param>
/// <param name="D">The model width (<c>D</c>), which must equal the encoder's output width.</param>
/// <param name="Pretrained">Start from ImageNet weights (<c>pretrained</c>).</param>
/// <param name="PretrainedWeights">The user's torchvision state_dict file (<c>pretrained_weights</c>), or null.</param>
/// <param name="Source">The config file, for messages.</param>
public sealed record PatchEncoderSpec(
    string EncType, int NResBlocks, int NChanIn, int D, bool Pretrained, string? PretrainedWeights, string Source);

/// <summary>
/// The patch encoders of docs/design.md section 2, built as <c>nn.Sequential</c>s whose indices match the official
/// implementation so that state_dict names carry over (<c>encoder.0.weight</c>, <c>encoder.4.0.conv1.weight</c>, ...).
/// </summary>
public static class PatchEncoders
{
    /// <summary>The residual stages an image encoder may keep (<c>n_res_blocks</c>), as the official code allows.</summary>
    public static IReadOnlyList<int> StageCounts { get; } = [2, 4];

    /// <summary>Width of the image encoder's output for <paramref name="encType"/> cut after <paramref name="nResBlocks"/> stages.</summary>
    /// <exception cref="ArgumentException">Unknown encoder type or block count.</exception>
    public static int ConvOutputWidth(string encType, int nResBlocks)
    {
        if (!StageCounts.Contains(nResBlocks))
        {
            throw new ArgumentException($"n_res_blocks {nResBlocks} is not supported; expected 2 or 4.", nameof(nResBlocks));
        }
        return EncoderRegistry.ResNet(encType).WidthAfter(nResBlocks);
    }

    /// <summary>
    /// Feature projector for pre-extracted features: LayerNorm(n_chan_in, eps 1e-5, no affine) -> Linear(n_chan_in, D)
    /// -> BatchNorm1d(D) -> ReLU, on <c>[K, n_chan_in]</c>.
    /// </summary>
    public static Sequential Projector(int nChanIn, int D) => Sequential(
        LayerNorm(nChanIn, eps: 1e-5, elementwise_affine: false),
        Linear(nChanIn, D),
        BatchNorm1d(D),
        ReLU());

    /// <summary>The image encoder of <paramref name="spec"/>: a torchvision ResNet cut after its stages, then pooled.</summary>
    /// <exception cref="ArgumentException">The spec names no known encoder, or its width or channels do not fit.</exception>
    public static Sequential Image(PatchEncoderSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var width = ConvOutputWidth(spec.EncType, spec.NResBlocks);
        if (width != spec.D)
        {
            throw new ArgumentException(
                $"config {spec.Source}: D ({spec.D}) must equal the output width of {spec.EncType} cut after " +
                $"{spec.NResBlocks} blocks ({width}).");
        }

        var resnet = EncoderRegistry.ResNet(spec.EncType).Create();
        var parts = resnet.named_children().ToDictionary(child => child.name, child => (Module<Tensor, Tensor>)child.module);

        if (spec.Pretrained)
        {
            LoadPretrained(resnet, spec);
        }
        if (spec.NChanIn == 1)
        {
            // ImageNet ResNets read 3 channels; grey images get a fresh first convolution, like the official code.
            parts["conv1"] = Conv2d(1, 64, kernel_size: 7, stride: 2, padding: 3, bias: false);
        }
        else if (spec.NChanIn != 3)
        {
            throw new ArgumentException($"config {spec.Source}: n_chan_in must be 1 or 3 for an image encoder (got {spec.NChanIn}).");
        }

        var names = new List<string> { "conv1", "bn1", "relu", "maxpool", "layer1", "layer2" };
        if (spec.NResBlocks == 4)
        {
            names.AddRange(new[] { "layer3", "layer4" });
        }
        names.Add("avgpool");
        return Sequential(names.Select(name => parts[name]));
    }

    private static void LoadPretrained(nn.Module resnet, PatchEncoderSpec spec)
    {
        string path;
        if (!string.IsNullOrWhiteSpace(spec.PretrainedWeights))
        {
            path = spec.PretrainedWeights;
        }
        else if (EncoderRegistry.ResNet(spec.EncType).PackagedWeights)
        {
            // The packaged ImageNet ResNet-18, converted to torchvision's layout and input convention.
            path = PretrainedWeights.EnsureResNet18();
        }
        else
        {
            throw new ArgumentException(
                $"config {spec.Source}: pretrained is true but pretrained_weights is not set. Only resnet18 ships with ImageNet " +
                $"weights; set pretrained_weights to a torchvision {spec.EncType} ImageNet state_dict (.pth, .pt or .safetensors).");
        }
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"config {spec.Source}: pretrained_weights file not found: {path}", path);
        }

        // A 1-channel conv1 is replaced, so it is not taken from the file.
        LoadTorchvisionResNet(resnet, path, key => spec.NChanIn == 1 && key.StartsWith("conv1.", StringComparison.Ordinal));
    }

    /// <summary>
    /// Loads a torchvision ResNet state_dict file into <paramref name="resnet"/>, a module with torchvision's names
    /// (<c>conv1</c>, <c>bn1</c>, <c>layer1</c>..<c>layer4</c>), with or without its classifier <c>fc</c>. Keys for which
    /// <paramref name="alsoIgnore"/> is true are left out on both sides; <paramref name="source"/> names the file in errors
    /// (its path when null).
    /// </summary>
    internal static void LoadTorchvisionResNet(nn.Module resnet, string path, Func<string, bool>? alsoIgnore = null, string? source = null)
    {
        var state = StateDictIO.ReadStateDict(path);
        try
        {
            // The classifier is cut off, so it is not taken from the file. BatchNorm batch counters are absent from
            // older torchvision files and unused with a fixed momentum.
            StateDictIO.LoadInto(resnet, state, source ?? path,
                key => key.StartsWith("fc.", StringComparison.Ordinal)
                       || key.EndsWith(".num_batches_tracked", StringComparison.Ordinal)
                       || (alsoIgnore?.Invoke(key) ?? false));
        }
        finally
        {
            foreach (var tensor in state.Values)
            {
                tensor.Dispose();
            }
        }
    }
}
