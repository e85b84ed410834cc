using System.Text.Json;
using System.Text.Json.Serialization;

namespace Ips.Bench;

/// <summary>Everything one <c>ips bench</c> run measured; written as JSON by <c>--out</c>.</summary>
public sealed record BenchReport
{
    /// <summary>When the run started (UTC, ISO 8601).</summary>
    public string Date { get; init; } = "";

    /// <summary>The machine and runtime the figures come from.</summary>
    public MachineInfo Machine { get; init; } = new();

    /// <summary>Whether the small smoke-run sizes were used.</summary>
    public bool Quick { get; init; }

    /// <summary>Part 1, or null when not run.</summary>
    public MemoryPart? Memory { get; init; }

    /// <summary>Part 2, or null when not run.</summary>
    public TimePart? Time { get; init; }

    /// <summary>Part 3, or null when not run.</summary>
    public EfficiencyPart? Efficiency { get; init; }

    /// <summary>Part 4 (vs-pytorch), or null when not run.</summary>
    public VsPytorchPart? VsPytorch { get; init; }

    /// <summary>Part 5, whole slides: tiling and one selection per slide size.</summary>
    public SlidesPart? Slides { get; init; }

    /// <summary>Part 6, the whole demo per seed.</summary>
    public DemoPart? Demo { get; init; }

    /// <summary>Part 7, tiles per second of the slide readers.</summary>
    public SlideReadPart? SlideRead { get; init; }

    /// <summary>Part 8, tiles per second and peak memory of the tile-encoder presets' architectures.</summary>
    public EncoderSpeedPart? Encoders { get; init; }

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>The report as indented snake_case JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Reads a report written by <see cref="ToJson"/>.</summary>
    /// <exception cref="InvalidDataException">The text is not such a report.</exception>
    public static BenchReport FromJson(string json, string source)
    {
        try
        {
            return JsonSerializer.Deserialize<BenchReport>(json, Json)
                ?? throw new InvalidDataException($"{source}: the JSON is null, not a benchmark report.");
        }
        catch (JsonException error)
        {
            throw new InvalidDataException($"{source}: not a benchmark report ({error.Message}).", error);
        }
    }
}

/// <summary>The machine and runtime of a run.</summary>
public sealed record MachineInfo
{
    /// <summary>Device the benchmarks ran on (cpu, cuda:0).</summary>
    public string Device { get; init; } = "";

    /// <summary>GPU name when the device is one.</summary>
    public string? Gpu { get; init; }

    /// <summary>Logical processors the OS reports.</summary>
    public int Cores { get; init; }

    /// <summary>libtorch intra-op threads.</summary>
    public int TorchThreads { get; init; }

    /// <summary>Physical memory, bytes.</summary>
    public long MemoryBytes { get; init; }

    /// <summary>CPU model from /proc/cpuinfo when readable.</summary>
    public string Cpu { get; init; } = "";

    /// <summary>libtorch version.</summary>
    public string Libtorch { get; init; } = "";

    /// <summary>The C allocator's settings in this process (<c>ProcessAllocator.State</c>).</summary>
    public string Allocator { get; init; } = "";

    /// <summary>How libtorch's OpenMP threads wait in this process (<c>OpenMpWaitPolicy.State</c>).</summary>
    public string OpenMpWait { get; init; } = "";

    /// <summary>The system's load average (1, 5 and 15 minutes, /proc/loadavg) when the run started; null where unknown.</summary>
    public string? LoadAtStart { get; init; }

    /// <summary>The load average when the run ended.</summary>
    public string? LoadAtEnd { get; init; }
}

/// <summary>Part 1: peak memory of one training step against the number of patches.</summary>
public sealed record MemoryPart
{
    /// <summary>The baseline is not run beyond this peak (bytes).</summary>
    public long BudgetBytes { get; init; }

    /// <summary>What the peaks measure (process VmHWM, or GPU memory in use).</summary>
    public string MemoryKind { get; init; } = "";

    /// <summary>How the feature path was set up (M, I, D, feature width, source).</summary>
    public string FeatureSetup { get; init; } = "";

    /// <summary>How the image path was set up.</summary>
    public string ImageSetup { get; init; } = "";

    /// <summary>Feature path rows, smallest N first.</summary>
    public List<MemoryRow> Features { get; init; } = [];

    /// <summary>Image path rows, smallest image first.</summary>
    public List<MemoryRow> Images { get; init; } = [];
}

/// <summary>One size of part 1: IPS and the all-patches baseline.</summary>
public sealed record MemoryRow
{
    /// <summary>The size as people say it (N = 16k, 2000x2000).</summary>
    public string Label { get; init; } = "";

    /// <summary>Patches per image.</summary>
    public int N { get; init; }

    /// <summary>IPS: peak memory of the child process over one training step (bytes).</summary>
    public long IpsPeakBytes { get; init; }

    /// <summary>IPS: the step's peak above the memory in use just before it (bytes); null where the peak mark cannot be reset.</summary>
    public long? IpsStepBytes { get; init; }

    /// <summary>IPS: seconds of the step.</summary>
    public double IpsSeconds { get; init; }

    /// <summary>Baseline: peak (bytes) when measured.</summary>
    public long? BaselinePeakBytes { get; init; }

    /// <summary>Baseline: the step's peak above the memory in use before it.</summary>
    public long? BaselineStepBytes { get; init; }

    /// <summary>Baseline: seconds of the step when measured.</summary>
    public double? BaselineSeconds { get; init; }

    /// <summary>measured, or why not (exceeds budget: estimate; stopped at the budget).</summary>
    public string BaselineStatus { get; init; } = "";
}

/// <summary>Part 2: time per training iteration on the Megapixel MNIST config and selection with/without reuse.</summary>
public sealed record TimePart
{
    /// <summary>Config and overrides used.</summary>
    public string Setup { get; init; } = "";

    /// <summary>Images per optimiser step.</summary>
    public int B { get; init; }

    /// <summary>Patches per image.</summary>
    public int N { get; init; }

    /// <summary>Memory size.</summary>
    public int M { get; init; }

    /// <summary>Iteration size.</summary>
    public int I { get; init; }

    /// <summary>Iterations averaged (first and last excluded).</summary>
    public int Iterations { get; init; }

    /// <summary>Mean time per iteration, ms.</summary>
    public double IterationMs { get; init; }

    /// <summary>Waiting for the background loader, ms.</summary>
    public double DataMs { get; init; }

    /// <summary>IPS selection (no gradients), ms.</summary>
    public double SelectionMs { get; init; }

    /// <summary>Forward and backward over the M selected patches, ms.</summary>
    public double ForwardBackwardMs { get; init; }

    /// <summary>Optimiser step, ms.</summary>
    public double OptimizerMs { get; init; }

    /// <summary>Iteration minus selection, forward+backward and optimiser: data wait and bookkeeping, ms.</summary>
    public double OutsideMs { get; init; }

    /// <summary>Images per second over the averaged iterations.</summary>
    public double ImagesPerSecond { get; init; }

    /// <summary>Selection of one batch with identical-patch reuse, ms.</summary>
    public double SelectionReuseMs { get; init; }

    /// <summary>Selection of the same batch without reuse, ms.</summary>
    public double SelectionNoReuseMs { get; init; }

    /// <summary>Whether both modes selected exactly the same indices.</summary>
    public bool SelectionsIdentical { get; init; }

    /// <summary>Distinct patches over all patches of that batch (what reuse can save at most).</summary>
    public double DistinctPatchShare { get; init; }

    /// <summary>Selection with the encoder in float32 against bfloat16, per case.</summary>
    public List<SelectionDtypeRow> SelectionDtype { get; init; } = [];
}

/// <summary>One case of the float32 / bfloat16 selection comparison (same images, same seed).</summary>
public sealed record SelectionDtypeRow
{
    /// <summary>Config and sizes.</summary>
    public string Case { get; init; } = "";

    /// <summary>Images selected as one batch.</summary>
    public int Images { get; init; }

    /// <summary>Patches selected per image.</summary>
    public int M { get; init; }

    /// <summary>Selection with the float32 encoder (fastest of the repeats), ms.</summary>
    public double Float32Ms { get; init; }

    /// <summary>Selection with the bfloat16 encoder (fastest of the repeats), ms.</summary>
    public double Bfloat16Ms { get; init; }

    /// <summary>Mean over the images of |float32 set ∩ bfloat16 set| / |union|.</summary>
    public double MeanJaccard { get; init; }

    /// <summary>The smallest Jaccard index of any image.</summary>
    public double MinJaccard { get; init; }

    /// <summary>Selected indices, over all images, that float32 did not select.</summary>
    public int DifferingIndices { get; init; }

    /// <summary>Largest difference of any output probability of the network on the two selections.</summary>
    public double MaxProbabilityDifference { get; init; }
}

/// <summary>Part 3: efficiency against the machine.</summary>
public sealed record EfficiencyPart
{
    /// <summary>Encoder forward FLOPs per patch (2 x conv/linear MACs, counted analytically).</summary>
    public double EncoderMflopPerPatch { get; init; }

    /// <summary>Encoder GFLOP/s during selection without reuse (B*N patches encoded).</summary>
    public double SelectionGflops { get; init; }

    /// <summary>Encoder-equivalent GFLOP/s during selection with reuse (same work credited, less done).</summary>
    public double SelectionReuseEffectiveGflops { get; init; }

    /// <summary>Encoder GFLOP/s during forward+backward (3 x forward FLOPs of B*M patches).</summary>
    public double TrainingGflops { get; init; }

    /// <summary>Measured float32 matmul throughput, GFLOP/s.</summary>
    public double MatmulPeakGflops { get; init; }

    /// <summary>Matrix side of the peak measurement.</summary>
    public int MatmulSize { get; init; }

    /// <summary>Share of an iteration outside selection, forward+backward and optimiser.</summary>
    public double OutsideShare { get; init; }
}

/// <summary>Part 4: this implementation and the official PyTorch one, side by side on the same data and machine.</summary>
public sealed record VsPytorchPart
{
    /// <summary>The checkout of the official implementation.</summary>
    public string OfficialDir { get; init; } = "";

    /// <summary>Why the official column is empty, or null when it ran.</summary>
    public string? OfficialSkipped { get; init; }

    /// <summary>The allocator settings both sides ran with.</summary>
    public string Allocator { get; init; } = "";

    /// <summary>How both sides' OpenMP threads waited (<c>OMP_WAIT_POLICY</c>).</summary>
    public string OpenMpWait { get; init; } = "";

    /// <summary>Intra-op threads of both sides.</summary>
    public int Threads { get; init; }

    /// <summary>One row per case.</summary>
    public List<VsPytorchRow> Rows { get; init; } = [];
}

/// <summary>One case of part 4.</summary>
public sealed record VsPytorchRow
{
    /// <summary>Short name (Megapixel MNIST, CAMELYON16 features, N 20000).</summary>
    public string Case { get; init; } = "";

    /// <summary>Config and sizes.</summary>
    public string Setup { get; init; } = "";

    /// <summary>This implementation's figures.</summary>
    public SideFigures Ours { get; init; } = new();

    /// <summary>The official implementation's figures, or null when skipped or failed.</summary>
    public SideFigures? Official { get; init; }

    /// <summary>Why the official side of this case failed (its last lines of output), or null.</summary>
    public string? OfficialFailure { get; init; }
}

/// <summary>Mean figures of one implementation over the kept iterations (first and last left out).</summary>
public sealed record SideFigures
{
    /// <summary>Which implementation and library version.</summary>
    public string Implementation { get; init; } = "";

    /// <summary>Iterations the means are over.</summary>
    public int Iterations { get; init; }

    /// <summary>Whole training iteration (B images), ms.</summary>
    public double IterationMs { get; init; }

    /// <summary>IPS over the B images, ms.</summary>
    public double SelectionMs { get; init; }

    /// <summary>Forward and backward on the selected patches, ms.</summary>
    public double ForwardBackwardMs { get; init; }

    /// <summary>Optimiser step, ms.</summary>
    public double OptimizerMs { get; init; }

    /// <summary>Peak resident memory of the whole process (VmHWM), bytes.</summary>
    public long PeakBytes { get; init; }

    /// <summary>Resident memory once the runtime and library were loaded, before the data: the process's floor, bytes.</summary>
    public long RssBeforeDataBytes { get; init; }

    /// <summary>Background loader threads (ours only).</summary>
    public int? LoaderWorkers { get; init; }

    /// <summary>Intra-op threads (official only: as the script saw them).</summary>
    public int? Threads { get; init; }

    /// <summary>PyTorch version (official only).</summary>
    public string? Torch { get; init; }

    /// <summary>The BLAS library the process had loaded (official only: Debian's PyTorch uses the system's libblas.so.3).</summary>
    public string? Blas { get; init; }
}
