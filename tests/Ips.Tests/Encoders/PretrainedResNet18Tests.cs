using DenseTensor = Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>;
using Ips.Configuration;
using Ips.Encoders;
using Ips.Modeling;
using Microsoft.ML.OnnxRuntime;
using Tensor = TorchSharp.torch.Tensor;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Ips.Tests.Encoders;

/// <summary>
/// The packaged ImageNet ResNet-18 converted to torchvision's layout: same features as ONNX Runtime gives on the
/// ONNX model, and, once its input convention is folded in, on ImageNet-normalised RGB patches.
/// </summary>
public sealed class PretrainedResNet18Tests(ITestOutputHelper output)
{
    private static string Package() => PretrainedWeights.FindPackage()
        ?? throw new InvalidOperationException($"{PretrainedWeights.PackageId} {PretrainedWeights.PackageVersion} is not restored; build the solution first.");

    [Fact]
    public void ConvertedStateDictHasExactlyTorchvisionKeysAndShapesWithoutFc()
    {
        var state = PretrainedWeights.ConvertPackage(Package(), foldImageNetInput: false);
        try
        {
            using var resnet = torchvision.models.resnet18();
            var expected = resnet.state_dict().Where(kv => !kv.Key.StartsWith("fc.", StringComparison.Ordinal))
                .ToDictionary(kv => kv.Key, kv => kv.Value.shape);
            Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), state.Keys.Order(StringComparer.Ordinal));
            Assert.Equal(120, state.Count); // 20 convolutions and 20 batch norms of 5 entries
            foreach (var (key, shape) in expected)
            {
                Assert.Equal(shape, state[key].shape);
            }
            // Loading checks every key both ways (only fc, absent from the export, is left out).
            Ips.IO.StateDictIO.LoadInto(resnet, state, "converted", key => key.StartsWith("fc.", StringComparison.Ordinal));
        }
        finally
        {
            Dispose(state);
        }
    }

    [Fact]
    public void ConvertedNetworkGivesOnnxRuntimeFeatures()
    {
        var package = Package();
        var (modelPath, _) = PretrainedWeights.OnnxFiles(package);
        using var encoder = Backbone(PretrainedWeights.ConvertPackage(package, foldImageNetInput: false));
        var generator = new Random(7);
        // Inputs in the export's own convention: BGR on the 0-255 scale minus a mean of about 115.
        var input = Enumerable.Range(0, 3 * 224 * 224).Select(_ => (float)(generator.NextDouble() * 255 - 115)).ToArray();

        // CNTK's ResNet-18 has one block more than torchvision's; compare at torchvision's layer4 output, pooled.
        var expected = RunOnnx(modelPath, "Input247", input, OnnxResNet18.Layer4Output(OnnxModel.Read(modelPath)));
        float[] actual;
        using (no_grad())
        using (var x = torch.tensor(input, [1, 3, 224, 224]))
        using (var y = encoder.call(x))
        {
            actual = y.flatten().data<float>().ToArray(); // [512]
        }

        var (maxAbs, relative) = Compare(actual, expected);
        output.WriteLine($"converted vs ONNX Runtime: max |diff| {maxAbs:E3}, max |diff| / max |onnx| {relative:E3}, max |onnx| {expected.Max(Math.Abs):F4}");
        Assert.Equal(512, actual.Length);
        Assert.True(relative < 1e-4, $"relative difference {relative:E3}");
    }

    [Fact]
    public void FoldedNetworkOnImageNetNormalisedRgbMatchesOnnxPreprocessingPipeline()
    {
        var package = Package();
        var (modelPath, preprocessPath) = PretrainedWeights.OnnxFiles(package);
        using var encoder = Backbone(PretrainedWeights.ConvertPackage(package, foldImageNetInput: true));

        // A smooth photo-like RGB image in [0, 1]: gradients and a disc.
        var rgb = new float[3 * 224 * 224];
        for (var y = 0; y < 224; y++)
        {
            for (var x = 0; x < 224; x++)
            {
                var disc = (x - 120) * (x - 120) + (y - 90) * (y - 90) < 40 * 40 ? 0.5f : 0f;
                rgb[(0 * 224 + y) * 224 + x] = Math.Min(1f, x / 224f * 0.8f + disc);
                rgb[(1 * 224 + y) * 224 + x] = y / 224f * 0.9f;
                rgb[(2 * 224 + y) * 224 + x] = 0.3f + 0.4f * MathF.Sin(x / 20f) * MathF.Sin(y / 30f) + disc * 0.2f;
            }
        }

        // The package's own pipeline: RGB on the 0-255 scale -> preprocess (BGR, minus mean image) -> ResNet-18.
        var preprocessed = RunOnnx(preprocessPath, "OriginalInput", [.. rgb.Select(v => v * 255f)]);
        var expected = RunOnnx(modelPath, "Input247", preprocessed, OnnxResNet18.Layer4Output(OnnxModel.Read(modelPath)));

        float[] actual;
        using (no_grad())
        using (var x = torch.tensor(rgb, [1, 3, 224, 224]))
        using (var mean = torch.tensor(ImageNetNormalisation.Mean).reshape(1, 3, 1, 1))
        using (var std = torch.tensor(ImageNetNormalisation.Std).reshape(1, 3, 1, 1))
        using (var normalised = x.sub(mean).div(std))
        using (var y = encoder.call(normalised))
        {
            actual = y.flatten().data<float>().ToArray();
        }

        var (maxAbs, relative) = Compare(actual, expected);
        var cosine = actual.Zip(expected, (a, b) => (double)a * b).Sum()
                     / Math.Sqrt(actual.Sum(a => (double)a * a) * expected.Sum(b => (double)b * b));
        output.WriteLine($"folded on ImageNet-normalised RGB vs ONNX preprocess + model: max |diff| / max |onnx| {relative:E3}, cosine {cosine:F6}");
        // Not exact: the mean image is replaced by its channel averages (a few grey levels of spatial spread).
        Assert.True(relative < 0.05, $"relative difference {relative:E3}");
        Assert.True(cosine > 0.999, $"cosine {cosine}");
    }

    [Fact]
    public void PretrainedResNet18WithoutWeightFileLoadsThePackagedWeightsIntoTheEncoder()
    {
        var config = new IpsConfig
        {
            Source = "pretrained.yml", IsImage = true, EncType = "resnet18", Pretrained = true, NChanIn = 3, NResBlocks = 4, D = 512,
        };
        using var encoder = IpsNet.CreateEncoder(config);
        var folded = PretrainedWeights.ConvertPackage(Package(), foldImageNetInput: true);
        try
        {
            using var conv1 = encoder.state_dict()["0.weight"];
            Assert.True(conv1.eq(folded["conv1.weight"]).all().item<bool>());
            using var layer4 = encoder.state_dict()["7.1.bn2.running_var"];
            Assert.True(layer4.eq(folded["layer4.1.bn2.running_var"]).all().item<bool>());
        }
        finally
        {
            Dispose(folded);
        }
    }

    [Fact]
    public void TheConversionIsCachedOnceAsATorchvisionStateDict()
    {
        var cache = Path.Combine(Path.GetTempPath(), $"ips-pretrained-{Guid.NewGuid():N}");
        try
        {
            var path = PretrainedWeights.EnsureResNet18(cache);
            Assert.Equal(Path.Combine(cache, "pretrained", "resnet18-imagenet-dnnimagefeaturizer-0.23.1.pth"), path);
            var written = File.GetLastWriteTimeUtc(path);
            var cached = Ips.IO.StateDictIO.ReadStateDict(path);
            try
            {
                Assert.Equal(120, cached.Count);
                Assert.DoesNotContain(cached.Keys, key => key.StartsWith("fc.", StringComparison.Ordinal));
            }
            finally
            {
                Dispose(cached);
            }
            // The second time the cache is used as it is, and no temporary file is left beside it.
            Assert.Equal(path, PretrainedWeights.EnsureResNet18(cache));
            Assert.Equal(written, File.GetLastWriteTimeUtc(path));
            Assert.Single(Directory.GetFiles(Path.GetDirectoryName(path)!));
        }
        finally
        {
            if (Directory.Exists(cache))
            {
                Directory.Delete(cache, recursive: true);
            }
        }
    }

    /// <summary>torchvision's resnet18 with <paramref name="state"/> loaded, cut before fc (conv1 ... avgpool), in eval mode.</summary>
    private static nn.Module<Tensor, Tensor> Backbone(Dictionary<string, Tensor> state)
    {
        var resnet = torchvision.models.resnet18();
        try
        {
            Ips.IO.StateDictIO.LoadInto(resnet, state, "converted", key => key.StartsWith("fc.", StringComparison.Ordinal));
        }
        finally
        {
            Dispose(state);
        }
        var parts = resnet.named_children().Where(child => child.name != "fc").Select(child => (nn.Module<Tensor, Tensor>)child.module);
        var backbone = nn.Sequential(parts);
        backbone.eval();
        return backbone;
    }

    /// <summary>Runs the model; with <paramref name="pooledOutput"/>, returns that [1, C, h, w] value averaged over h and w.</summary>
    private static float[] RunOnnx(string modelPath, string inputName, float[] input, string? pooledOutput = null)
    {
        var bytes = File.ReadAllBytes(modelPath);
        if (pooledOutput is not null)
        {
            bytes = [.. bytes, .. ExtraGraphOutput(pooledOutput)];
        }
        using var session = new InferenceSession(bytes);
        var tensor = new DenseTensor(input, [1, 3, 224, 224]);
        var names = pooledOutput is null ? session.OutputMetadata.Keys.ToArray() : [pooledOutput];
        using var results = session.Run([NamedOnnxValue.CreateFromTensor(inputName, tensor)], names);
        var value = results.Single().AsTensor<float>();
        if (pooledOutput is null)
        {
            return [.. value];
        }
        int channels = value.Dimensions[1], plane = value.Dimensions[2] * value.Dimensions[3];
        var flat = value.ToArray();
        return [.. Enumerable.Range(0, channels).Select(c => flat.AsSpan(c * plane, plane).ToArray().Average())];
    }

    /// <summary>
    /// Protobuf bytes that, appended to a ModelProto, add <paramref name="name"/> (float32) to its graph's outputs:
    /// a second occurrence of an embedded message field is merged into the first.
    /// </summary>
    private static byte[] ExtraGraphOutput(string name)
    {
        static byte[] Field(int number, byte[] payload) => [(byte)((number << 3) | 2), .. Varint(payload.Length), .. payload];
        static byte[] Varint(int value)
        {
            var bytes = new List<byte>();
            for (; value >= 0x80; value >>= 7)
            {
                bytes.Add((byte)(value | 0x80));
            }
            bytes.Add((byte)value);
            return [.. bytes];
        }
        byte[] tensorType = [0x08, 0x01]; // TypeProto.Tensor.elem_type = FLOAT
        var valueInfo = Field(1, System.Text.Encoding.UTF8.GetBytes(name)).Concat(Field(2, Field(1, tensorType))).ToArray();
        return Field(7, Field(12, valueInfo));
    }

    private static (double MaxAbs, double Relative) Compare(float[] actual, float[] expected)
    {
        var maxAbs = actual.Zip(expected, (a, b) => Math.Abs((double)a - b)).Max();
        return (maxAbs, maxAbs / expected.Max(v => Math.Abs((double)v)));
    }

    private static void Dispose(Dictionary<string, Tensor> state)
    {
        foreach (var tensor in state.Values)
        {
            tensor.Dispose();
        }
    }
}
