using System.Globalization;
using TorchSharp;
using static TorchSharp.torch;

namespace Ips.Encoders;

/// <summary>
/// Converts the ImageNet ResNet-18 of the NuGet package <c>Microsoft.ML.DnnImageFeaturizer.ResNet18</c> (an ONNX
/// export from CNTK) into torchvision's <c>resnet18</c> state_dict layout.
/// </summary>
/// <remarks>
/// <para>The ONNX graph is CNTK's ResNet-18 without a classifier: bias-free convolutions, each followed by a batch norm
/// (eps 1e-5), in stages of 2, 2, 2 and 3 basic blocks, i.e. torchvision's resnet18 (2, 2, 2, 2) plus a third block
/// at the end of the last stage. torchvision's layout is kept (official checkpoints must load), so that last block
/// is left out and the features are those after <c>layer4.1</c>. Taken in graph order, the first 17 convolutions with
/// a 7x7 or 3x3 kernel are <c>conv1</c> and <c>layer{1..4}.{0,1}.conv{1,2}</c>, and the three 1x1 ones are
/// <c>layer{2,3,4}.0.downsample.0</c>; each one's batch norm is the node that reads its output. Strides and leading paddings are checked against torchvision's; the
/// stride-2 layers are padded (3, 3, 2, 2) or (1, 1, 0, 0) in the export, which gives torchvision's symmetric padding's
/// outputs on even input sizes (the trailing padding is never reached by a stride-2 window).</para>
/// <para>Its input convention is CNTK's: BGR on the 0-255 scale minus a mean image (<c>ResNetPreprocess.onnx</c>).
/// <see cref="FoldImageNetInput"/> turns the weights into ones that take torchvision's input (RGB in [0, 1]
/// normalised by the ImageNet mean and std), so the encoder sees what the weights were trained on.</para>
/// </remarks>
internal static class OnnxResNet18
{
    /// <summary>
    /// The network of <paramref name="model"/> as a torchvision-layout state_dict (no <c>fc</c>; batch counters 0)
    /// that takes the export's own input (CNTK's convention). The caller owns the tensors.
    /// </summary>
    /// <exception cref="InvalidDataException">The graph is not the expected ResNet-18.</exception>
    public static Dictionary<string, Tensor> Convert(OnnxModel model, string sourceName)
    {
        var convs = model.Nodes.Where(node => node.OpType == "Conv").ToList();
        var spatial = convs.Where(node => Kernel(node) != 1).ToList();
        var pointwise = convs.Where(node => Kernel(node) == 1).ToList();
        // CNTK's ResNet-18 has a third block in its last stage (blocks 2, 2, 2, 3): 19 spatial convolutions.
        if (spatial.Count is not (17 or 19) || pointwise.Count != 3)
        {
            throw new InvalidDataException(
                $"{sourceName}: expected ResNet-18's 17 spatial and 3 1x1 convolutions (19 spatial with CNTK's extra last block), " +
                $"found {spatial.Count} and {pointwise.Count}.");
        }

        var names = new List<(OnnxNode Conv, string Conv2dName, string NormName, int Stride, int Pad)>
        {
            (spatial[0], "conv1", "bn1", 2, 3),
        };
        for (var layer = 1; layer <= 4; layer++)
        {
            for (var block = 0; block < 2; block++)
            {
                var prefix = string.Create(CultureInfo.InvariantCulture, $"layer{layer}.{block}.");
                var firstStride = layer > 1 && block == 0 ? 2 : 1;
                var index = 1 + (layer - 1) * 4 + block * 2;
                names.Add((spatial[index], prefix + "conv1", prefix + "bn1", firstStride, 1));
                names.Add((spatial[index + 1], prefix + "conv2", prefix + "bn2", 1, 1));
            }
            if (layer > 1)
            {
                var prefix = string.Create(CultureInfo.InvariantCulture, $"layer{layer}.0.downsample.");
                names.Add((pointwise[layer - 2], prefix + "0", prefix + "1", 2, 0));
            }
        }

        var state = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var (conv, convName, normName, stride, pad) in names)
            {
                CheckConv(conv, convName, stride, pad, sourceName);
                state[convName + ".weight"] = Initializer(model, conv.Inputs[1], sourceName);
                var norm = model.Nodes.SingleOrDefault(node => node.OpType == "BatchNormalization" && node.Inputs[0] == conv.Outputs[0])
                    ?? throw new InvalidDataException($"{sourceName}: the convolution for {convName} is not followed by a batch norm.");
                if (norm.Floats.TryGetValue("epsilon", out var eps) && Math.Abs(eps - 1e-5f) > 1e-9f)
                {
                    throw new InvalidDataException($"{sourceName}: batch norm {normName} has epsilon {eps}; torchvision uses 1e-5.");
                }
                state[normName + ".weight"] = Initializer(model, norm.Inputs[1], sourceName);
                state[normName + ".bias"] = Initializer(model, norm.Inputs[2], sourceName);
                state[normName + ".running_mean"] = Initializer(model, norm.Inputs[3], sourceName);
                state[normName + ".running_var"] = Initializer(model, norm.Inputs[4], sourceName);
                state[normName + ".num_batches_tracked"] = torch.tensor(0L);
            }
            return state;
        }
        catch
        {
            foreach (var tensor in state.Values)
            {
                tensor.Dispose();
            }
            throw;
        }
    }

    /// <summary>
    /// Rewrites <paramref name="state"/> (CNTK input convention) in place so that it takes torchvision's input:
    /// RGB in [0, 1], normalised by <see cref="ImageNetNormalisation"/>.
    /// </summary>
    /// <remarks>
    /// The export reads <c>u[2 - c] = 255 p_c - m[2 - c]</c> (BGR) where <c>p_c = std_c x_c + mean_c</c> is the pixel the
    /// normalised input <c>x</c> stands for and <c>m</c> the mean image's per-channel average
    /// (<paramref name="meanBgr"/>). Hence <c>u[2 - c] = a_c x_c + b_c</c> with <c>a_c = 255 std_c</c> and
    /// <c>b_c = 255 mean_c - m[2 - c]</c>, and, conv1 being linear and bias-free,
    /// <c>conv1(u) = conv1'(x) + k</c> with <c>W'[o, c] = a_c W[o, 2 - c]</c> and <c>k_o = sum_c b_c sum_taps W[o, 2 - c]</c>.
    /// bn1 subtracts its running mean next, so the constant is folded there: <c>running_mean' = running_mean - k</c>.
    /// This is exact wherever conv1's 7x7 window lies inside the image. In its 3-pixel zero-padded border the export's
    /// padding stands for the mean-image colour and the folded net's for the ImageNet mean colour, which differ by
    /// <c>|b_c|</c>, under one grey level for this package. The mean image's spatial variation (a few grey levels)
    /// is replaced by its per-channel average, which is what a patch of any size can be given.
    /// </remarks>
    public static void FoldImageNetInput(Dictionary<string, Tensor> state, float[] meanBgr)
    {
        using var scope = NewDisposeScope();
        var weight = state["conv1.weight"]; // [64, 3 (BGR), 7, 7]
        var rgbWeight = weight.flip(1); // [64, 3 (RGB), 7, 7]
        var a = torch.tensor(ImageNetNormalisation.Std).mul(255f); // [3]
        var b = torch.tensor(ImageNetNormalisation.Mean).mul(255f).sub(torch.tensor(meanBgr).flip(0)); // [3]
        var folded = rgbWeight.mul(a.reshape(1, 3, 1, 1)); // [64, 3, 7, 7]
        var k = rgbWeight.sum([2, 3]).mul(b.reshape(1, 3)).sum(1); // [64]
        var runningMean = state["bn1.running_mean"].sub(k);
        Replace(state, "conv1.weight", folded);
        Replace(state, "bn1.running_mean", runningMean);
    }

    /// <summary>The per-channel average of <c>MeanImage</c> of <c>ResNetPreprocess.onnx</c>, in BGR order.</summary>
    /// <exception cref="InvalidDataException">The model holds no <c>[1, 3, H, W]</c> mean image.</exception>
    public static float[] MeanBgr(OnnxModel preprocess, string sourceName)
    {
        var mean = preprocess.Initializers.Values.SingleOrDefault(t => t.Dims is [1, 3, > 0, > 0])
            ?? throw new InvalidDataException($"{sourceName}: no [1, 3, H, W] mean image among its initializers.");
        var plane = (int)(mean.Dims[2] * mean.Dims[3]);
        return [.. Enumerable.Range(0, 3).Select(c => (float)mean.Data.AsSpan(c * plane, plane).ToArray().Average(v => (double)v))];
    }

    private static void Replace(Dictionary<string, Tensor> state, string key, Tensor value)
    {
        state[key].Dispose();
        state[key] = value.contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The graph value torchvision's <c>layer4</c> ends at: the input of the first convolution of a block beyond
    /// <c>layer4.1</c>, or the input of the final pooling when there is none.
    /// </summary>
    public static string Layer4Output(OnnxModel model)
    {
        var spatial = model.Nodes.Where(node => node.OpType == "Conv" && Kernel(node) != 1).ToList();
        return spatial.Count > 17
            ? spatial[17].Inputs[0]
            : model.Nodes.Last(node => node.OpType is "AveragePool" or "GlobalAveragePool").Inputs[0];
    }

    private static long Kernel(OnnxNode conv) =>
        conv.Ints.TryGetValue("kernel_shape", out var kernel) && kernel.Length > 0 ? kernel[0] : -1;

    private static void CheckConv(OnnxNode conv, string name, int stride, int pad, string sourceName)
    {
        if (conv.Inputs.Count != 2)
        {
            throw new InvalidDataException($"{sourceName}: the convolution for {name} has a bias; torchvision's has none.");
        }
        var strides = conv.Ints.GetValueOrDefault("strides", [1, 1]);
        var pads = conv.Ints.GetValueOrDefault("pads", [0, 0, 0, 0]);
        if (strides is not [var sy, var sx] || sy != stride || sx != stride || pads.Length != 4 || pads[0] != pad || pads[1] != pad)
        {
            throw new InvalidDataException(
                $"{sourceName}: the convolution for {name} has strides [{string.Join(", ", strides)}] and pads " +
                $"[{string.Join(", ", pads)}]; torchvision's has stride {stride} and padding {pad}.");
        }
    }

    private static Tensor Initializer(OnnxModel model, string name, string sourceName)
    {
        var tensor = model.Initializers.GetValueOrDefault(name)
            ?? throw new InvalidDataException($"{sourceName}: initializer {name} is missing or not float32.");
        var dims = tensor.Dims.Length == 4 || tensor.Dims.Length == 1 ? tensor.Dims : [tensor.Data.Length];
        return torch.tensor(tensor.Data, dims);
    }
}
