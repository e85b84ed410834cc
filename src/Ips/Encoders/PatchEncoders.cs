using Ips.Configuration;
using Ips.IO;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;
using static TorchSharp.torch;

namespace Ips.Encoders;

/// <summary>
/// The patch encoders of SPEC.md section 2, built as <c>nn.Sequential</c>s whose indices match the official
/// implementation so that state_dict names carry over (<c>encoder.0.weight</c>, <c>encoder.4.0.conv1.weight</c>, ...).
/// </summary>
public static class PatchEncoders
{
    /// <summary>The encoder for <paramref name="config"/>: a cut ResNet when <c>is_image</c>, else the feature projector.</summary>
    public static Sequential Create(IpsConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return config.IsImage ? ConvEncoder(config) : Projector(config.NChanIn, config.D);
    }

    /// <summary>Width of the image encoder's output for <paramref name="encType"/> cut after <paramref name="nResBlocks"/> stages.</summary>
    /// <exception cref="ArgumentException">Unknown encoder type or block count.</exception>
    public static int ConvOutputWidth(string encType, int nResBlocks)
    {
        CheckConv(encType, nResBlocks);
        var expansion = encType == "resnet50" ? 4 : 1;
        return (nResBlocks == 2 ? 128 : 512) * expansion;
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

    private static void CheckConv(string encType, int nResBlocks)
    {
        if (encType is not ("resnet18" or "resnet50"))
        {
            throw new ArgumentException($"enc_type '{encType}' is not supported; expected resnet18 or resnet50.", nameof(encType));
        }
        if (nResBlocks is not (2 or 4))
        {
            throw new ArgumentException($"n_res_blocks {nResBlocks} is not supported; expected 2 or 4.", nameof(nResBlocks));
        }
    }

    private static Sequential ConvEncoder(IpsConfig config)
    {
        var width = ConvOutputWidth(config.EncType, config.NResBlocks);
        if (width != config.D)
        {
            throw new ArgumentException(
                $"config {config.Source}: D ({config.D}) must equal the output width of {config.EncType} cut after " +
                $"{config.NResBlocks} blocks ({width}).");
        }

        var resnet = config.EncType == "resnet18"
            ? torchvision.models.resnet18()
            : torchvision.models.resnet50();
        var parts = resnet.named_children().ToDictionary(child => child.name, child => (Module<Tensor, Tensor>)child.module);

        if (config.Pretrained)
        {
            LoadPretrained(resnet, config);
        }
        if (config.NChanIn == 1)
        {
            // ImageNet ResNets read 3 channels; grey images get a fresh first convolution, like the official code.
            parts["conv1"] = Conv2d(1, 64, kernel_size: 7, stride: 2, padding: 3, bias: false);
        }
        else if (config.NChanIn != 3)
        {
            throw new ArgumentException($"config {config.Source}: n_chan_in must be 1 or 3 for an image encoder (got {config.NChanIn}).");
        }

        var names = new List<string> { "conv1", "bn1", "relu", "maxpool", "layer1", "layer2" };
        if (config.NResBlocks == 4)
        {
            names.AddRange(new[] { "layer3", "layer4" });
        }
        names.Add("avgpool");
        return Sequential(names.Select(name => parts[name]));
    }

    private static void LoadPretrained(nn.Module resnet, IpsConfig config)
    {
        string path;
        if (!string.IsNullOrWhiteSpace(config.PretrainedWeights))
        {
            path = config.PretrainedWeights;
        }
        else if (config.EncType == "resnet18")
        {
            // The packaged ImageNet ResNet-18, converted to torchvision's layout and input convention.
            path = PretrainedWeights.EnsureResNet18();
        }
        else
        {
            throw new ArgumentException(
                $"config {config.Source}: pretrained is true but pretrained_weights is not set. Only resnet18 ships with ImageNet " +
                $"weights; set pretrained_weights to a torchvision {config.EncType} ImageNet state_dict (.pth, .pt or .safetensors).");
        }
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"config {config.Source}: pretrained_weights file not found: {path}", path);
        }

        // A 1-channel conv1 is replaced, so it is not taken from the file.
        LoadTorchvisionResNet(resnet, path, key => config.NChanIn == 1 && key.StartsWith("conv1.", StringComparison.Ordinal));
    }

    /// <summary>
    /// Loads a torchvision ResNet state_dict file into <paramref name="resnet"/>, a module with torchvision's names
    /// (<c>conv1</c>, <c>bn1</c>, <c>layer1</c>..<c>layer4</c>), with or without its classifier <c>fc</c>. Keys for which
    /// <paramref name="alsoIgnore"/> is true are left out on both sides.
    /// </summary>
    internal static void LoadTorchvisionResNet(nn.Module resnet, string path, Func<string, bool>? alsoIgnore = null)
    {
        var state = StateDictIO.ReadStateDict(path);
        try
        {
            // The classifier is cut off, so it is not taken from the file. BatchNorm batch counters are absent from
            // older torchvision files and unused with a fixed momentum.
            StateDictIO.LoadInto(resnet, state, path,
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
