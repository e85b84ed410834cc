using Ips.Configuration;
using Ips.Data;
using Ips.Patches;
using static TorchSharp.torch;

namespace Ips.Tests.Training;

/// <summary>
/// A task only IPS can solve cheaply: N patches, all blank but one, whose pattern gives the class. Feature mode gives
/// rows of <c>n_chan_in</c>; image mode gives 1-channel square patches. Deterministic per index.
/// </summary>
internal sealed class SyntheticPatchDataset(int count, int n, int seed, bool images, int featureWidth = 8, int patchSide = 8) : IIpsDataset
{
    public int Count => count;

    public IpsSample Load(int index, bool train)
    {
        var random = new Random(seed * 100_003 + index);
        var label = index % 2;
        var position = random.Next(n);
        Tensor patches;
        if (images)
        {
            var data = new float[n * patchSide * patchSide];
            // Class 0: a bright left half; class 1: a bright top half, with a little noise on the lit pixels.
            for (var y = 0; y < patchSide; y++)
            {
                for (var x = 0; x < patchSide; x++)
                {
                    var lit = label == 0 ? x < patchSide / 2 : y < patchSide / 2;
                    data[(position * patchSide + y) * patchSide + x] = lit ? 0.8f + 0.2f * (float)random.NextDouble() : 0f;
                }
            }
            patches = tensor(data).view(n, 1, patchSide, patchSide);
        }
        else
        {
            var data = new float[n * featureWidth];
            for (var c = 0; c < featureWidth; c++)
            {
                // Class 0 lights the first half of the channels, class 1 the second half.
                var lit = label == 0 ? c < featureWidth / 2 : c >= featureWidth / 2;
                data[position * featureWidth + c] = lit ? 1f + 0.1f * (float)random.NextDouble() : 0f;
            }
            patches = tensor(data).view(n, featureWidth);
        }
        var labels = new Dictionary<string, Tensor> { ["cls"] = tensor((long)label) };
        return new IpsSample($"synthetic/{index}", TensorPatchSource.FromPatches(patches), labels);
    }

    /// <summary>A small config for this data set: one softmax task "cls" with 2 classes.</summary>
    public static IpsConfig Config(bool images, int n, int m, int i, int b, int bSeq, bool eager, int epochs = 2, double dropout = 0.0, bool shuffle = false) => new()
    {
        Source = "synthetic.yml",
        NEpoch = epochs,
        NEpochWarmup = 0,
        B = b,
        BSeq = bSeq,
        Lr = 3e-3,
        Wd = 0.0,
        NClass = 2,
        DataDir = ".",
        NWorker = 1,
        Eager = eager,
        Seed = 7,
        IsImage = images,
        EncType = "resnet18",
        NChanIn = images ? 1 : 8,
        NResBlocks = 2,
        Shuffle = shuffle,
        NToken = 1,
        N = n,
        M = m,
        I = i,
        PatchSize = images ? [8, 8] : null,
        PatchStride = images ? [8, 8] : null,
        UsePos = false,
        H = 2,
        D = images ? 128 : 16,
        DK = 8,
        DV = 8,
        DInner = 32,
        AttnDropout = dropout,
        Dropout = dropout,
        Tasks = [new TaskConfig { Key = "task0", Id = 0, Name = "cls", ActFn = "softmax", Metric = "accuracy", NClass = 2 }],
    };
}
