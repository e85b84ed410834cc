using System.Diagnostics;
using System.Globalization;

namespace Ips.Bench;

/// <summary>The parts of <c>ips bench</c>: memory against image size, time per iteration, efficiency against the machine.</summary>
[Flags]
public enum BenchParts
{
    /// <summary>No part.</summary>
    None = 0,

    /// <summary>Peak memory of one training step against N, with IPS and with the all-patches baseline.</summary>
    Memory = 1,

    /// <summary>Time per iteration on the Megapixel MNIST config and selection with and without identical-patch reuse.</summary>
    Time = 2,

    /// <summary>Encoder GFLOP/s during selection and training beside the machine's matmul peak.</summary>
    Efficiency = 4,

    /// <summary>Training iterations of this implementation and of the official PyTorch one, side by side (not part of <see cref="All"/>: it needs Python).</summary>
    VsPytorch = 8,

    /// <summary>The first three parts.</summary>
    All = Memory | Time | Efficiency,

    /// <summary>Tissue tiling and one IPS selection on generated 10k, 40k and 100k whole slides (not part of all: it writes gigapixel slides).</summary>
    Slides = 16,

    /// <summary>The whole <c>ips demo</c> once per seed: wall time and accuracy (not part of all: minutes per seed).</summary>
    Demo = 32,

    /// <summary>256-pixel tiles per second of each slide reader and of openslide-python on a generated 16k x 16k JPEG slide (not part of all).</summary>
    SlideRead = 64,

    /// <summary>Tiles per second and peak memory of each tile-encoder preset's architecture at random weights (not part of all: minutes for the giant ViTs).</summary>
    Encoders = 128,
}

/// <summary>The cases of the vs-pytorch part.</summary>
[Flags]
public enum VsCases
{
    /// <summary>No case.</summary>
    None = 0,

    /// <summary>The official Megapixel MNIST config.</summary>
    Mnist = 1,

    /// <summary>The official CAMELYON16 feature config, at each <c>--camelyon-n</c>.</summary>
    Camelyon = 2,

    /// <summary>Both.</summary>
    All = Mnist | Camelyon,
}

/// <summary>How a benchmark run is set up.</summary>
/// <param name="Quick">Small sizes for a smoke run (well under a minute on 2 cores).</param>
/// <param name="Device">auto, cpu, cuda or cuda:N.</param>
/// <param name="Parts">Which parts to run; efficiency needs the time part's figures and runs it too.</param>
/// <param name="MemoryBudgetBytes">The baseline (all N patches) is not run, or is stopped, beyond this peak.</param>
/// <param name="Child">How to start a fresh child process of the harness (each memory measurement runs in one).</param>
/// <param name="ConfigOverrides">Extra <c>KEY=VALUE</c> overrides of configs/mnist.yml for the time part.</param>
/// <param name="Threads">libtorch intra-op threads; null keeps libtorch's default.</param>
/// <param name="Official">Checkout of the official implementation for the vs-pytorch part; null: ../shared/reference/official-ips beside the repository.</param>
/// <param name="CamelyonN">Rows per slide of the CAMELYON16 feature cases of the vs-pytorch part; null: 20000.</param>
/// <param name="VsCases">Which cases the vs-pytorch part runs; null: both.</param>
/// <param name="Seeds">The seeds the demo part runs <c>ips demo</c> with; null: 0, 1 and 2.</param>
public sealed record BenchOptions(
    bool Quick,
    string Device,
    BenchParts Parts,
    long MemoryBudgetBytes,
    ChildCommand Child,
    IReadOnlyList<string> ConfigOverrides,
    int? Threads,
    string? Official = null,
    IReadOnlyList<int>? CamelyonN = null,
    VsCases? VsCases = null,
    IReadOnlyList<int>? Seeds = null)
{
    /// <summary>Tiles per timed batch of the encoders part: 32, or 2 for a quick run.</summary>
    public int EncoderBatch => Quick ? 2 : 32;

    /// <summary>The demo part's seeds.</summary>
    public IReadOnlyList<int> DemoSeeds => Seeds ?? [0, 1, 2];

    /// <summary>The CAMELYON16 feature cases' rows per slide.</summary>
    public IReadOnlyList<int> CamelyonRows => CamelyonN ?? [20_000];

    /// <summary>The cases of the vs-pytorch part to run.</summary>
    public VsCases VsPytorchCases => VsCases ?? Bench.VsCases.All;

    /// <summary>Parses <c>mnist,camelyon</c> (any order, <c>all</c> for both).</summary>
    /// <exception cref="ArgumentException">An unknown case name, or none.</exception>
    public static VsCases ParseVsCases(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var cases = Bench.VsCases.None;
        foreach (var name in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            cases |= name.ToLowerInvariant() switch
            {
                "mnist" => Bench.VsCases.Mnist,
                "camelyon" => Bench.VsCases.Camelyon,
                "all" => Bench.VsCases.All,
                _ => throw new ArgumentException($"--vs-cases: unknown case '{name}'; expected mnist, camelyon or both separated by a comma."),
            };
        }
        return cases == Bench.VsCases.None
            ? throw new ArgumentException("--vs-cases: name at least one of mnist, camelyon.")
            : cases;
    }

    /// <summary>The default budget of the baseline: 4 GiB.</summary>
    public const long DefaultBudgetBytes = 4L << 30;

    /// <summary>Parses <c>memory,time,efficiency</c> (any order, <c>all</c> for all).</summary>
    /// <exception cref="ArgumentException">An unknown part name.</exception>
    public static BenchParts ParseParts(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parts = BenchParts.None;
        foreach (var name in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            parts |= name.ToLowerInvariant() switch
            {
                "memory" => BenchParts.Memory,
                "time" => BenchParts.Time,
                "efficiency" => BenchParts.Efficiency,
                "vs-pytorch" => BenchParts.VsPytorch,
                "slides" => BenchParts.Slides,
                "demo" => BenchParts.Demo,
                "slide-read" => BenchParts.SlideRead,
                "encoders" => BenchParts.Encoders,
                "all" => BenchParts.All,
                _ => throw new ArgumentException($"--parts: unknown part '{name}'; expected a comma-separated list of memory, time, efficiency, vs-pytorch, slides, demo, slide-read, encoders (all: the first three)."),
            };
        }
        if (parts == BenchParts.None)
        {
            throw new ArgumentException("--parts: name at least one of memory, time, efficiency, vs-pytorch.");
        }
        return parts;
    }
}

/// <summary>The program and leading arguments that start the harness again, e.g. <c>dotnet Ips.Cli.dll</c>.</summary>
/// <param name="FileName">Executable to start.</param>
/// <param name="LeadingArguments">Arguments before <c>bench --child ...</c>.</param>
public sealed record ChildCommand(string FileName, IReadOnlyList<string> LeadingArguments)
{
    /// <summary>
    /// The command that started this process: its apphost, or <c>dotnet</c> followed by the entry assembly when it
    /// runs through the muxer.
    /// </summary>
    public static ChildCommand OfCurrentProcess(string entryAssemblyPath)
    {
        var host = Environment.ProcessPath ?? "dotnet";
        var isMuxer = Path.GetFileNameWithoutExtension(host).Equals("dotnet", StringComparison.OrdinalIgnoreCase);
        return isMuxer ? new ChildCommand(host, [entryAssemblyPath]) : new ChildCommand(host, []);
    }

    /// <summary>
    /// How to start <c>bench --child SPEC --device DEVICE [--threads N]</c> with redirected output: the one way every
    /// part starts a child measurement.
    /// </summary>
    public ProcessStartInfo StartInfo(string spec, string device, int? threads)
    {
        var start = new ProcessStartInfo(FileName) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in LeadingArguments.Concat(["bench", "--child", spec, "--device", device]))
        {
            start.ArgumentList.Add(argument);
        }
        if (threads is { } count)
        {
            start.ArgumentList.Add("--threads");
            start.ArgumentList.Add(count.ToString(CultureInfo.InvariantCulture));
        }
        return start;
    }
}
