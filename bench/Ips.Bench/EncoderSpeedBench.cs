using System.Diagnostics;
using System.Globalization;
using System.Text;
using Ips.Encoders;
using Ips.Native;
using Ips.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Ips.Bench;

/// <summary>The encoders part of the report: one row per distinct architecture of the presets.</summary>
public sealed record EncoderSpeedPart
{
    /// <summary>Tiles per timed batch.</summary>
    public int Batch { get; init; }

    /// <summary>libtorch's threads.</summary>
    public int Threads { get; init; }

    /// <summary>One row per architecture.</summary>
    public List<EncoderSpeedRow> Rows { get; init; } = [];
}

/// <summary>One architecture at random weights: a batch of tiles through it without gradients.</summary>
public sealed record EncoderSpeedRow
{
    /// <summary>The presets that share this architecture, e.g. <c>h-optimus-0, h-optimus-1</c>.</summary>
    public string Presets { get; init; } = "";

    /// <summary>The network, as the preset names it.</summary>
    public string Architecture { get; init; } = "";

    /// <summary>Parameters, in millions.</summary>
    public double ParametersMillions { get; init; }

    /// <summary>Side of the square input tile in pixels.</summary>
    public int Input { get; init; }

    /// <summary>Tiles per second over the timed batch.</summary>
    public double TilesPerSecond { get; init; }

    /// <summary>Peak resident memory of the process over building the network and the timed batch (VmHWM, mark reset before), MiB.</summary>
    public double PeakMiB { get; init; }

    /// <summary>The process's resident memory just before the network was built (freed memory handed back first), MiB.</summary>
    public double BeforeMiB { get; init; }
}

/// <summary>
/// <c>ips bench --parts encoders</c>: each preset's architecture (docs/encoders.md) built with random weights, one warm-up
/// batch of 2 tiles, then one timed batch of <see cref="BenchOptions.EncoderBatch"/> tiles at the preset's input size
/// without gradients, on this process's device. Presets sharing an architecture are measured once. The peak is the
/// process's resident set from just before the network is built (freed memory handed back first), so it holds the
/// weights and the batch's activations.
/// </summary>
internal sealed class EncoderSpeedBench(BenchOptions options, TextWriter log)
{
    public EncoderSpeedPart Run(Device device)
    {
        var rows = new List<EncoderSpeedRow>();
        foreach (var (presets, preset) in Architectures())
        {
            log.WriteLine($"encoders: {presets} ({preset.Architecture})");
            rows.Add(Measure(preset, presets, options.EncoderBatch, device));
            log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"encoders: {presets}: {rows[^1].TilesPerSecond:F2} tiles/s, peak {rows[^1].PeakMiB:F0} MiB"));
        }
        return new EncoderSpeedPart { Batch = options.EncoderBatch, Threads = torch.get_num_threads(), Rows = rows };
    }

    /// <summary>The presets grouped by architecture (network, layers and input size): the names, and one of them.</summary>
    internal static IEnumerable<(string Presets, EncoderPreset Preset)> Architectures() =>
        EncoderPresets.All.GroupBy(p => (p.Architecture, p.Vit, p.ResNetStages, p.Preprocessing.InputSize))
            .Select(group => (string.Join(", ", group.Select(p => p.Name)), group.First()));

    /// <summary>One architecture: built with random weights, a warm-up batch of 2, then a timed batch of <paramref name="batchSize"/>.</summary>
    internal static EncoderSpeedRow Measure(EncoderPreset preset, string presets, int batchSize, Device device)
    {
        ProcessAllocator.ReleaseFreedMemory();
        ProcessMemory.ResetPeak();
        var before = ProcessMemory.CurrentResidentBytes();
        using var _ = no_grad();
        using var network = preset.Vit is { } vit
            ? (nn.Module<Tensor, Tensor>)new VisionTransformer(vit)
            : new ResNetBackbone(preset.Architecture, preset.ResNetStages);
        network.to(device).eval();
        var parameters = network.parameters().Sum(p => p.numel());
        var side = preset.Preprocessing.InputSize;
        using (var warm = rand(2, 3, side, side, device: device))
        {
            network.forward(warm).Dispose();
        }
        using var batch = rand(batchSize, 3, side, side, device: device);
        var clock = Stopwatch.StartNew();
        using (var features = network.forward(batch))
        {
            // On a GPU the forward pass only queues work: copying the result back waits for it, so the clock is right.
            features.cpu().Dispose();
        }
        var seconds = clock.Elapsed.TotalSeconds;
        return new EncoderSpeedRow
        {
            Presets = presets, Architecture = preset.Architecture, ParametersMillions = parameters / 1e6, Input = side,
            TilesPerSecond = batchSize / seconds, PeakMiB = ProcessMemory.PeakResidentBytes() / (1024.0 * 1024.0), BeforeMiB = before / (1024.0 * 1024.0),
        };
    }

    /// <summary>The part as a table.</summary>
    public static string Format(EncoderSpeedPart part)
    {
        var text = new StringBuilder();
        text.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"8. Tile encoders at random weights (one batch of {part.Batch} tiles without gradients, {part.Threads} threads; peak: the process's resident set while building the network and encoding; before: the resident set just before building)"));
        text.Append(BenchTables.Table(
            ["presets", "architecture", "parameters", "input", "tiles/s", "peak MiB", "before MiB"],
            [.. part.Rows.Select(r => (string[])[
                r.Presets, r.Architecture, r.ParametersMillions.ToString("F0", CultureInfo.InvariantCulture) + " M",
                r.Input.ToString(CultureInfo.InvariantCulture), r.TilesPerSecond.ToString("F2", CultureInfo.InvariantCulture),
                r.PeakMiB.ToString("F0", CultureInfo.InvariantCulture), r.BeforeMiB.ToString("F0", CultureInfo.InvariantCulture)])]));
        return text.ToString();
    }
}
