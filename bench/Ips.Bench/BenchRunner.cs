using System.Globalization;
using Ips.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace Ips.Bench;

/// <summary>The harness behind <c>ips bench</c>: runs the chosen parts and collects their figures in one report.</summary>
public static class BenchRunner
{
    /// <summary>Runs the parts of <paramref name="options"/>, writing progress lines to <paramref name="log"/>.</summary>
    public static BenchReport Run(BenchOptions options, TextWriter log)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(log);
        var device = TorchRuntime.ResolveDevice(options.Device);
        ApplyThreads(options.Threads);
        var report = new BenchReport
        {
            Date = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture),
            Machine = Describe(device),
            Quick = options.Quick,
        };
        if (options.Parts.HasFlag(BenchParts.Memory))
        {
            report = report with { Memory = new MemoryBench(options, log).Run(device.type == DeviceType.CUDA) };
        }
        if ((options.Parts & (BenchParts.Time | BenchParts.Efficiency)) != 0)
        {
            var (time, efficiency) = new TimeBench(options, log).Run(device, options.Parts.HasFlag(BenchParts.Efficiency));
            report = report with { Time = time, Efficiency = efficiency };
        }
        if (options.Parts.HasFlag(BenchParts.VsPytorch))
        {
            report = report with { VsPytorch = new VsPytorchBench(options, log).Run(torch.get_num_threads()) };
        }
        if (options.Parts.HasFlag(BenchParts.Slides))
        {
            report = report with { Slides = new SlidesBench(options, log).Run() };
        }
        if (options.Parts.HasFlag(BenchParts.Demo))
        {
            report = report with { Demo = new DemoBench(options, log).Run() };
        }
        if (options.Parts.HasFlag(BenchParts.SlideRead))
        {
            report = report with { SlideRead = new SlideReadBench(options, log).Run() };
        }
        if (options.Parts.HasFlag(BenchParts.Encoders))
        {
            report = report with { Encoders = new EncoderSpeedBench(options, log).Run(device) };
        }
        return report with { Machine = report.Machine with { LoadAtEnd = LoadAverage() } };
    }

    /// <summary>
    /// The child side of a memory measurement (prints one <see cref="ProbeResult"/> line), or with <c>vs:SPEC</c>
    /// our side of the vs-pytorch part (which reports each training iteration to <paramref name="progress"/> as it ends).
    /// </summary>
    public static void RunChild(string spec, string device, int? threads, TextWriter output, TextWriter? progress = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(output);
        var resolved = TorchRuntime.ResolveDevice(device);
        ApplyThreads(threads);
        if (SlidesBench.IsChildSpec(spec))
        {
            SlidesBench.RunChild(spec, resolved, output);
            return;
        }
        if (spec.StartsWith("vs:", StringComparison.Ordinal))
        {
            VsPytorchBench.RunChild(spec[3..], resolved, output, progress ?? TextWriter.Null);
            return;
        }
        var parsed = ProbeSpec.Parse(spec);
        output.WriteLine(MemoryProbe.Run(parsed, resolved).ToLine());
    }

    private static void ApplyThreads(int? threads)
    {
        if (threads is { } count)
        {
            if (count <= 0)
            {
                throw new ArgumentException($"--threads {count}: expected a positive number of threads.");
            }
            torch.set_num_threads(count);
        }
    }

    private static MachineInfo Describe(Device device)
    {
        var info = TorchRuntime.Describe();
        string? gpu = null;
        if (device.type == DeviceType.CUDA)
        {
            gpu = info.CudaDevices.Count > 0 ? info.CudaDevices[Math.Max(0, device.index)].Name : "CUDA";
        }
        return new MachineInfo
        {
            Device = device.ToString(),
            Gpu = gpu,
            Cores = Environment.ProcessorCount,
            TorchThreads = torch.get_num_threads(),
            MemoryBytes = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes,
            Cpu = CpuModel(),
            Libtorch = info.LibtorchVersion,
            Allocator = ProcessAllocator.State.ToString(),
            OpenMpWait = OpenMpWaitPolicy.State.ToString(),
            LoadAtStart = LoadAverage(),
        };
    }

    /// <summary>The 1, 5 and 15 minute load averages from /proc/loadavg: other work on the machine slows every figure.</summary>
    private static string? LoadAverage()
    {
        const string loadavg = "/proc/loadavg";
        return File.Exists(loadavg) ? string.Join(' ', File.ReadAllText(loadavg).Split(' ').Take(3)) : null;
    }

    private static string CpuModel()
    {
        const string cpuinfo = "/proc/cpuinfo";
        if (!File.Exists(cpuinfo))
        {
            return "unknown CPU";
        }
        var line = File.ReadLines(cpuinfo).FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
        return line is null ? "unknown CPU" : line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim();
    }
}
