using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Ips.Configuration;
using Ips.Features;
using Ips.Modeling;
using Ips.Native;
using Ips.Patches;
using Ips.Selection;
using Ips.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Ips.Bench;

/// <summary>One memory measurement, run in a fresh child process: path (features or image), IPS or all patches, size.</summary>
/// <param name="Path">features: rows of a .npy; image: a square 1-channel canvas cut into 50x50 patches.</param>
/// <param name="Ips">IPS (select M, train on them) or the baseline (train on all N).</param>
/// <param name="Size">N for features, the canvas side for images.</param>
/// <param name="File">The .npy of the feature path; empty for images.</param>
internal sealed record ProbeSpec(string Path, bool Ips, int Size, string File)
{
    public const int FeatureWidth = 256;
    public const int FeatureM = 100;
    public const int FeatureI = 1000;
    public const int ImageM = 50;
    public const int ImageI = 50;
    public const int PatchSide = 50;

    /// <summary>The <c>--child</c> argument.</summary>
    public string ToArgument() => string.Create(CultureInfo.InvariantCulture, $"{Path};{(Ips ? "ips" : "all")};{Size};{File}");

    /// <summary>Parses a <c>--child</c> argument.</summary>
    public static ProbeSpec Parse(string argument)
    {
        var parts = argument.Split(';', 4);
        if (parts.Length != 4 || parts[0] is not ("features" or "image") || parts[1] is not ("ips" or "all")
            || !int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var size) || size <= 0)
        {
            throw new ArgumentException($"--child '{argument}': expected features|image;ips|all;SIZE;FILE (an internal option of ips bench).");
        }
        return new ProbeSpec(parts[0], parts[1] == "ips", size, parts[3]);
    }

    /// <summary>The config of the measurement: one softmax task, no positional encoding, no shuffle (sequential reads).</summary>
    public IpsConfig Config() => Path == "features"
        ? Common() with { IsImage = false, NChanIn = FeatureWidth, M = FeatureM, I = FeatureI, N = Size, Source = "bench (features)" }
        : Common() with
        {
            IsImage = true, EncType = "resnet18", NResBlocks = 2, NChanIn = 1, M = ImageM, I = ImageI,
            N = (Size / PatchSide) * (Size / PatchSide), PatchSize = [PatchSide, PatchSide], PatchStride = [PatchSide, PatchSide], Source = "bench (images)",
        };

    private static IpsConfig Common() => new()
    {
        B = 1, BSeq = 1, D = 128, H = 8, DK = 16, DV = 16, DInner = 512, NToken = 1, UsePos = false, Shuffle = false,
        Tasks = [new TaskConfig { Key = "task0", Id = 0, Name = "task", ActFn = "softmax", Metric = "accuracy", NClass = 2 }],
    };
}

/// <summary>What a child reports: peak memory over the step and the step's time.</summary>
/// <param name="PeakBytes">Process VmHWM (CPU) or GPU memory in use after the step (NVML).</param>
/// <param name="StepBytes">Peak above the memory in use just before the step; null where the peak mark cannot be reset.</param>
/// <param name="Seconds">Time of the step.</param>
internal sealed record ProbeResult(long PeakBytes, long? StepBytes, double Seconds)
{
    public const string Marker = "IPS_BENCH_PROBE ";

    public string ToLine() => Marker + JsonSerializer.Serialize(this);

    /// <summary>The result in a child's standard output, or null when it printed none.</summary>
    public static ProbeResult? FindIn(string output)
    {
        var line = output.Split('\n').Select(l => l.Trim()).LastOrDefault(l => l.StartsWith(Marker, StringComparison.Ordinal));
        return line is null ? null : JsonSerializer.Deserialize<ProbeResult>(line[Marker.Length..]);
    }
}

/// <summary>The child side of part 1: builds the model, runs exactly one training step, reports its peak memory.</summary>
internal static class MemoryProbe
{
    public static ProbeResult Run(ProbeSpec spec, Device device)
    {
        var config = spec.Config();
        torch.manual_seed(0);
        using var net = new IpsNet(config);
        net.to(device);
        using var optimizer = torch.optim.AdamW(net.parameters(), lr: 1e-3, weight_decay: 0.1);
        using var source = OpenSource(spec);

        GC.Collect();
        var before = device.type == DeviceType.CUDA ? 0 : ProcessMemory.CurrentResidentBytes();
        var reset = device.type != DeviceType.CUDA && ProcessMemory.ResetPeak();
        var clock = Stopwatch.StartNew();
        TrainStep(net, optimizer, source, spec.Ips, device);
        if (device.type == DeviceType.CUDA)
        {
            torch.cuda.synchronize();
        }
        var seconds = clock.Elapsed.TotalSeconds;
        if (device.type == DeviceType.CUDA)
        {
            // The caching allocator keeps what the step reserved, so memory in use after it is its peak.
            return new ProbeResult(GpuMemory.UsedBytes(device.index < 0 ? 0 : device.index), null, seconds);
        }
        var peak = ProcessMemory.PeakResidentBytes();
        return new ProbeResult(peak, reset ? peak - before : null, seconds);
    }

    private static IPatchSource OpenSource(ProbeSpec spec)
    {
        if (spec.Path == "features")
        {
            return NpyFeatureSource.Open(spec.File);
        }
        // Lazy loading: the canvas stays in host memory and only chunks go to the device. Noise, so no two patches are equal.
        var generator = new Generator(7);
        var canvas = torch.rand([1, spec.Size, spec.Size], generator: generator);
        var grid = new PatchGrid(spec.Size, spec.Size, ProbeSpec.PatchSide, ProbeSpec.PatchSide, ProbeSpec.PatchSide, ProbeSpec.PatchSide);
        return TensorPatchSource.FromImage(canvas, grid);
    }

    /// <summary>One optimiser step on one image: IPS selects M patches first, the baseline uses all N.</summary>
    private static void TrainStep(IpsNet net, torch.optim.Optimizer optimizer, IPatchSource source, bool ips, Device device)
    {
        using var scope = NewDisposeScope();
        Tensor patches; // [1, M or N, *patch]
        if (ips)
        {
            var selector = new IterativePatchSelector(net) { ReuseIdenticalPatches = false };
            var selection = selector.Select([source], device);
            patches = selection.Patches;
        }
        else
        {
            patches = source.Read(0, source.Count).unsqueeze(0).to(device);
        }
        net.train();
        optimizer.zero_grad();
        var predictions = net.call(patches, null);
        var labels = new Dictionary<string, Tensor> { ["task"] = tensor(new long[] { 1 }, device: device) };
        var (total, _) = Losses.Compute(predictions, labels, net.Config.Tasks, net.Config.Eps);
        total.backward();
        optimizer.step();
    }
}
