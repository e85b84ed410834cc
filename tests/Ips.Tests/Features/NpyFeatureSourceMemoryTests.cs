using Ips.Features;
using static TorchSharp.torch;

namespace Ips.Tests.Features;

/// <summary>Tests that measure the process's memory run alone, so that other tests' tensors do not count.</summary>
[CollectionDefinition(nameof(MemoryMeasurement), DisableParallelization = true)]
public sealed class MemoryMeasurement;

[Collection(nameof(MemoryMeasurement))]
public sealed class NpyFeatureSourceMemoryTests : IDisposable
{
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public void Reading_chunks_of_a_large_file_keeps_memory_independent_of_N()
    {
        const int rows = 200_000, cols = 64, chunk = 1_000;
        string path = _files.File("large.npy");
        using (var matrix = arange(rows * (long)cols, dtype: ScalarType.Float32).reshape(rows, cols))
        {
            NpyWriter.Write(path, matrix);
        }

        using var source = NpyFeatureSource.Open(path);
        using (source.Read(0, chunk))
        {
        }

        using var process = System.Diagnostics.Process.GetCurrentProcess();
        process.Refresh();
        long residentBefore = process.WorkingSet64;
        long before = GC.GetAllocatedBytesForCurrentThread();
        double checksum = 0;
        for (int start = 0; start < rows; start += chunk)
        {
            using var scope = NewDisposeScope();
            var block = source.Read(start, chunk);
            checksum += block[chunk - 1, cols - 1].item<float>();
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        process.Refresh();
        long residentGrowth = process.WorkingSet64 - residentBefore;
        long chunkBytes = chunk * cols * sizeof(float);
        Assert.True(allocated < 10 * chunkBytes, $"200 chunk reads allocated {allocated} managed bytes; one chunk is {chunkBytes}");
        // The whole matrix is 51 MB; the native chunks are freed and reused, so the process must not grow by it.
        Assert.True(residentGrowth < 40 * chunkBytes, $"200 chunk reads grew the working set by {residentGrowth} bytes");
        // Last element of chunk k is ((k + 1) * chunk) * cols - 1.
        double expected = Enumerable.Range(1, rows / chunk).Sum(k => (double)(k * chunk * cols - 1));
        Assert.Equal(expected, checksum);
    }
}
