using Ips.Configuration;
using Ips.Features;
using Ips.Modeling;
using Ips.Patches;
using Ips.Selection;
using Ips.Tests.Features;
using Ips.Training;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Ips.Tests.Selection;

/// <summary>docs/design.md section 3: peak memory of IPS depends on M and I, not on N, when patches stream from disk.</summary>
[Collection(nameof(MemoryMeasurement))]
public sealed class StreamedSelectionMemoryTests(ITestOutputHelper output) : IDisposable
{
    private const int Width = 64;
    private readonly string _scratch = Directory.CreateTempSubdirectory("ips-stream-").FullName;

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    [Fact]
    public void Selection_over_100k_streamed_patches_peaks_like_selection_over_1k()
    {
        var config = new IpsConfig
        {
            Source = "stream.yml", IsImage = false, NChanIn = Width, D = 32, H = 2, DK = 8, DV = 8, DInner = 64,
            NToken = 1, M = 100, I = 1000, UsePos = false, Shuffle = false, NClass = 2,
            Tasks = [new TaskConfig { Key = "task0", Id = 0, Name = "t", ActFn = "sigmoid", Metric = "auc", NClass = 1 }],
        };
        manual_seed(0);
        using var net = new IpsNet(config);
        var selector = new IterativePatchSelector(net);

        var small = WriteFeatures("small.npy", 1_000);
        var large = WriteFeatures("large.npy", 100_000);
        Measure(selector, small); // warm-up: libtorch's allocator and thread pools reach their steady size

        var smallPeak = Measure(selector, small);
        var largePeak = Measure(selector, large);
        output.WriteLine($"peak resident growth during selection: N=1,000: {smallPeak / 1024.0 / 1024:F1} MiB; N=100,000: {largePeak / 1024.0 / 1024:F1} MiB (the matrix is {100_000L * Width * 4 / 1024.0 / 1024:F1} MiB on disk)");

        // The whole matrix would add 24.4 MiB; streaming must stay within a few MiB of the small case.
        Assert.True(largePeak - smallPeak < 8L * 1024 * 1024, $"N=100k peak {largePeak} vs N=1k peak {smallPeak} bytes");
    }

    private string WriteFeatures(string name, int rows)
    {
        var path = Path.Combine(_scratch, name);
        var random = new Random(rows);
        var data = new float[(long)rows * Width];
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = (float)random.NextDouble();
        }
        NpyWriter.Write(path, data, rows, Width);
        return path;
    }

    /// <summary>Peak resident memory above the level at the start of one selection.</summary>
    private static long Measure(IterativePatchSelector selector, string path)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        Assert.True(ProcessMemory.ResetPeak(), "this kernel does not allow resetting the peak RSS (/proc/self/clear_refs)");
        var before = ProcessMemory.CurrentResidentBytes();
        using (var source = NpyFeatureSource.Open(path))
        using (var result = selector.Select(new IPatchSource[] { source }, CPU))
        {
            Assert.Equal(100, result.Indices.shape[1]);
        }
        return ProcessMemory.PeakResidentBytes() - before;
    }
}
