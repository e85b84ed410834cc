using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

namespace Ips.Bench;

/// <summary>The machine's float32 throughput as seen by libtorch: repeated products of two n x n random matrices.</summary>
internal static class MatmulPeak
{
    /// <summary>Best GFLOP/s over <paramref name="repeats"/> timed products (2 n^3 FLOPs each), after one warm-up product.</summary>
    public static double Gflops(int n, int repeats, Device device)
    {
        using var scope = NewDisposeScope();
        var a = randn([n, n], device: device);
        var b = randn([n, n], device: device);
        a.mm(b).Dispose();
        Synchronize(device);
        var best = double.MaxValue;
        for (var i = 0; i < repeats; i++)
        {
            var clock = Stopwatch.StartNew();
            using var product = a.mm(b);
            Synchronize(device);
            best = Math.Min(best, clock.Elapsed.TotalSeconds);
        }
        return 2.0 * n * n * n / best / 1e9;
    }

    private static void Synchronize(Device device)
    {
        if (device.type == DeviceType.CUDA)
        {
            cuda.synchronize();
        }
    }
}
