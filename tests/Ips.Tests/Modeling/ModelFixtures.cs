using Ips.Configuration;
using Ips.Patches;
using TorchSharp;
using static TorchSharp.torch;

namespace Ips.Tests.Modeling;

/// <summary>Small configs, deterministic weights and an in-memory patch source shared by the model tests.</summary>
internal static class ModelFixtures
{
    /// <summary>A feature-input model small enough to check by hand: two tasks on two tokens.</summary>
    public static IpsConfig SmallFeatureConfig(bool usePos = true, int n = 5, int heads = 2, int nToken = 2) => new()
    {
        Source = "small-features",
        IsImage = false,
        NChanIn = 8,
        D = 8,
        H = heads,
        DK = 4,
        DV = 4,
        DInner = 16,
        NToken = nToken,
        UsePos = usePos,
        N = n,
        M = 3,
        I = 2,
        Shuffle = false,
        Tasks = nToken == 1
            ? new[] { Task("cls", 0, "softmax", 3) }
            : new[] { Task("cls", 0, "softmax", 3), Task("bin", 1, "sigmoid", 1) },
    };

    /// <summary>An MNIST-like image model: 1x16x16 patches, resnet18 cut after layer2, D 128.</summary>
    public static IpsConfig SmallImageConfig(int n = 12) => new()
    {
        Source = "small-mnist",
        IsImage = true,
        EncType = "resnet18",
        NResBlocks = 2,
        NChanIn = 1,
        D = 128,
        H = 2,
        DK = 4,
        DV = 4,
        DInner = 16,
        NToken = 4,
        UsePos = true,
        N = n,
        M = 3,
        I = 4,
        Shuffle = false,
        Tasks = new[]
        {
            Task("majority", 0, "softmax", 10),
            Task("max", 1, "softmax", 10),
            Task("top", 2, "softmax", 10),
            Task("multi", 3, "sigmoid", 10),
        },
    };

    public static TaskConfig Task(string name, int id, string actFn, int nClass) => new()
    {
        Key = "task" + id,
        Id = id,
        Name = name,
        ActFn = actFn,
        Metric = actFn == "softmax" ? "accuracy" : "auc",
        NClass = nClass,
    };

    /// <summary>
    /// The value every state_dict entry gets from <see cref="SetDeterministicWeights"/>: entry number <paramref name="entry"/>
    /// (in ordinal key order), flattened element <paramref name="i"/>. Variances stay positive.
    /// </summary>
    public static double WeightValue(string key, int entry, long i)
    {
        var s = Math.Sin(0.1 * (i + 1) + 0.7 * entry);
        return key.EndsWith("running_var", StringComparison.Ordinal) ? 1.0 + 0.5 * s * s : 0.5 * s;
    }

    /// <summary>Sets every float parameter and buffer from <see cref="WeightValue"/>, not from the RNG.</summary>
    public static Dictionary<string, double[]> SetDeterministicWeights(nn.Module module)
    {
        var values = new Dictionary<string, double[]>(StringComparer.Ordinal);
        var state = module.state_dict();
        var entry = 0;
        using var noGrad = no_grad();
        foreach (var key in state.Keys.Order(StringComparer.Ordinal))
        {
            var target = state[key];
            if (!target.is_floating_point())
            {
                entry++;
                continue;
            }
            var data = new double[target.numel()];
            for (var i = 0; i < data.Length; i++)
            {
                data[i] = WeightValue(key, entry, i);
            }
            using var source = tensor(data.Select(v => (float)v).ToArray(), dtype: float32).view(target.shape);
            target.copy_(source);
            values[key] = data;
            entry++;
        }
        return values;
    }

    /// <summary>Float data following a smooth formula, so inputs are fixed without an RNG.</summary>
    public static Tensor FormulaTensor(long[] shape, double phase = 0.0)
    {
        var count = shape.Aggregate(1L, (a, b) => a * b);
        var data = new float[count];
        for (var i = 0; i < count; i++)
        {
            data[i] = (float)Math.Cos(0.37 * i + phase);
        }
        return tensor(data, dtype: float32).view(shape);
    }
}

/// <summary>An in-memory <see cref="IPatchSource"/> over <c>[N, *shape]</c> that records the size of every read.</summary>
internal sealed class InMemoryPatchSource : IPatchSource
{
    private readonly Tensor data;

    public InMemoryPatchSource(Tensor data)
    {
        this.data = data;
    }

    public List<int> ReadSizes { get; } = new();

    public List<int> GatherSizes { get; } = new();

    /// <summary>Live tensors on this thread when each <see cref="Read"/> began, to catch per-iteration leaks.</summary>
    public List<long> LiveTensorsAtRead { get; } = new();

    public int Count => (int)data.shape[0];

    public long[] PatchShape => data.shape.Skip(1).ToArray();

    public Device Device => data.device;

    public Tensor Read(int start, int count)
    {
        ReadSizes.Add(count);
        LiveTensorsAtRead.Add(DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        return data.narrow(0, start, count).clone();
    }

    public Tensor Gather(ReadOnlySpan<long> indices)
    {
        GatherSizes.Add(indices.Length);
        using var index = tensor(indices.ToArray(), dtype: int64);
        return data.index_select(0, index);
    }

    public void Dispose() => data.Dispose();
}
