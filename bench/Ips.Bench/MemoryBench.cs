using System.Diagnostics;
using System.Globalization;
using Ips.Features;
using static TorchSharp.torch;

namespace Ips.Bench;

/// <summary>
/// Part 1, the parent side: writes the feature matrices, then runs every measurement in a fresh child process
/// (<see cref="MemoryProbe"/>) so that one measurement's peak cannot contaminate the next, and stops the all-patches
/// baseline at the memory budget: skipped when its linear extrapolation exceeds it, killed when its resident memory does.
/// </summary>
internal sealed class MemoryBench(BenchOptions options, TextWriter log)
{
    private static readonly int[] FeatureSizes = [1 << 10, 1 << 12, 1 << 14, 1 << 16, 1 << 18];
    private static readonly int[] QuickFeatureSizes = [1 << 10, 1 << 12, 1 << 14];
    private static readonly int[] ImageSides = [500, 1000, 2000, 4000];
    private static readonly int[] QuickImageSides = [500, 750];

    public MemoryPart Run(bool onGpu)
    {
        var directory = Directory.CreateTempSubdirectory("ips-bench-");
        try
        {
            var features = new List<MemoryRow>();
            var previous = new List<(int N, long Peak)>();
            foreach (var n in options.Quick ? QuickFeatureSizes : FeatureSizes)
            {
                var file = Path.Combine(directory.FullName, string.Create(CultureInfo.InvariantCulture, $"features-{n}.npy"));
                WriteFeatures(file, n);
                features.Add(Measure(new ProbeSpec("features", true, n, file), Label(n), n, previous));
                File.Delete(file);
            }
            var images = new List<MemoryRow>();
            previous.Clear();
            foreach (var side in options.Quick ? QuickImageSides : ImageSides)
            {
                var n = (side / ProbeSpec.PatchSide) * (side / ProbeSpec.PatchSide);
                images.Add(Measure(new ProbeSpec("image", true, side, ""), string.Create(CultureInfo.InvariantCulture, $"{side}x{side}"), n, previous));
            }
            return new MemoryPart
            {
                BudgetBytes = options.MemoryBudgetBytes,
                MemoryKind = onGpu ? "GPU memory in use after the step, NVML" : "peak resident set size of a fresh process, VmHWM",
                FeatureSetup = string.Create(CultureInfo.InvariantCulture,
                    $"M {ProbeSpec.FeatureM}, I {ProbeSpec.FeatureI}, D 128, {ProbeSpec.FeatureWidth} features per patch streamed from a .npy, no shuffle"),
                ImageSetup = string.Create(CultureInfo.InvariantCulture,
                    $"M {ProbeSpec.ImageM}, I {ProbeSpec.ImageI}, 1-channel noise canvas in host memory (lazy), {ProbeSpec.PatchSide}x{ProbeSpec.PatchSide} patches, resnet18 2 blocks, no reuse"),
                Features = features,
                Images = images,
            };
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    private MemoryRow Measure(ProbeSpec ips, string label, int n, List<(int N, long Peak)> baselines)
    {
        log.WriteLine($"memory: {ips.Path} {label}: IPS");
        var withIps = RunChild(ips) ?? throw new InvalidOperationException($"the IPS measurement of {ips.Path} {label} exceeded the {BenchTables.Bytes(options.MemoryBudgetBytes)} budget.");

        var estimate = Extrapolate(baselines, n);
        if (estimate > options.MemoryBudgetBytes)
        {
            return Row(label, n, withIps) with { BaselineStatus = $"exceeds budget (est. {BenchTables.Bytes(estimate)})" };
        }
        log.WriteLine($"memory: {ips.Path} {label}: baseline (all {n} patches)");
        var all = RunChild(ips with { Ips = false });
        if (all is null)
        {
            baselines.Add((n, options.MemoryBudgetBytes + 1));
            return Row(label, n, withIps) with { BaselineStatus = "exceeds budget (stopped)" };
        }
        baselines.Add((n, all.PeakBytes));
        return Row(label, n, withIps) with
        {
            BaselinePeakBytes = all.PeakBytes, BaselineStepBytes = all.StepBytes, BaselineSeconds = all.Seconds, BaselineStatus = "measured",
        };
    }

    private static MemoryRow Row(string label, int n, ProbeResult ips) =>
        new() { Label = label, N = n, IpsPeakBytes = ips.PeakBytes, IpsStepBytes = ips.StepBytes, IpsSeconds = ips.Seconds };

    /// <summary>The baseline's peak at <paramref name="n"/> on the line through the last two measurements (0 with fewer).</summary>
    internal static long Extrapolate(IReadOnlyList<(int N, long Peak)> measured, int n)
    {
        if (measured.Count < 2)
        {
            return 0;
        }
        var (n0, p0) = measured[^2];
        var (n1, p1) = measured[^1];
        var slope = (double)(p1 - p0) / (n1 - n0);
        return (long)(p1 + (slope * (n - n1)));
    }

    /// <summary>Runs one measurement in a child; null when the child's resident memory passed the budget and it was killed.</summary>
    private ProbeResult? RunChild(ProbeSpec spec)
    {
        var start = options.Child.StartInfo(spec.ToArgument(), options.Device, options.Threads);
        using var child = Process.Start(start) ?? throw new InvalidOperationException($"could not start {options.Child.FileName}.");
        var output = child.StandardOutput.ReadToEndAsync();
        var errors = child.StandardError.ReadToEndAsync();
        var killed = false;
        while (!child.WaitForExit(20))
        {
            if (ResidentBytes(child.Id) > options.MemoryBudgetBytes)
            {
                child.Kill(entireProcessTree: true);
                killed = true;
            }
        }
        child.WaitForExit();
        if (killed)
        {
            return null;
        }
        return child.ExitCode == 0 && ProbeResult.FindIn(output.Result) is { } result
            ? result
            : throw new InvalidOperationException(
                $"memory measurement {spec.ToArgument()} failed (exit code {child.ExitCode}): {errors.Result.Trim()} {output.Result.Trim()}");
    }

    private static long ResidentBytes(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    return long.Parse(line[6..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
                }
            }
        }
        catch (IOException)
        {
            // The child has just exited.
        }
        return 0;
    }

    /// <summary>N rows of standard-normal features (the parent's own memory is not measured: every measurement runs in a child).</summary>
    private static void WriteFeatures(string path, int n)
    {
        using var scope = NewDisposeScope();
        var generator = new Generator((ulong)n);
        var matrix = randn([n, ProbeSpec.FeatureWidth], generator: generator);
        NpyWriter.Write(path, matrix);
    }

    private static string Label(int n) => n >= 1 << 10
        ? string.Create(CultureInfo.InvariantCulture, $"N = {n >> 10}k")
        : string.Create(CultureInfo.InvariantCulture, $"N = {n}");
}
