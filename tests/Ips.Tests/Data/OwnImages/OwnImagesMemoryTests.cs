using Ips.Data.OwnImages;
using Ips.Modeling;
using Ips.Patches;
using Ips.Selection;
using Ips.Tests.Features;
using Ips.Training;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Ips.Tests.Data.OwnImages;

/// <summary>
/// docs/own-data.md, "Any size": selection over your own images holds at most max(M, I) patches at once and its memory
/// does not grow with the image, shown on a 256 x 256 and a 4096 x 4096 image of one data set.
/// </summary>
[Collection(nameof(MemoryMeasurement))]
public sealed class OwnImagesMemoryTests(ITestOutputHelper output) : IDisposable
{
    private const int M = 4, I = 64;
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public void Selection_over_a_4096_image_holds_as_few_patches_and_as_little_memory_as_over_a_256_image()
    {
        var data = _files.File("data");
        Textured(Path.Combine(data, "train", "small", "s.png"), 256, textured: 256);
        // A blank canvas with a textured square, as Megapixel MNIST's: 256 distinct patches among 16,384.
        Textured(Path.Combine(data, "train", "large", "l.png"), 4096, textured: 512);
        Textured(Path.Combine(data, "test", "small", "t.png"), 256, textured: 256);
        var config = OwnImagesTestData.Config(data, 2, "patch_size=[32, 32]", "patch_stride=[32, 32]", $"M={M}", $"I={I}");
        var train = new OwnImagesDataset(config, train: true, skipBad: false);
        manual_seed(0);
        using var net = new IpsNet(config);
        var selector = new IterativePatchSelector(net);
        var large = train.Entries.ToList().FindIndex(e => e.Path == "train/large/l.png");

        Measure(selector, train, 1 - large); // warm-up: libtorch's allocator and thread pools reach their steady size
        var (smallN, smallMost, smallPeak) = Measure(selector, train, 1 - large);
        var (largeN, largeMost, largePeak) = Measure(selector, train, large);
        output.WriteLine($"N 64: at most {smallMost} patches at once, peak resident growth {smallPeak / 1048576.0:F1} MiB; " +
            $"N 16,384: at most {largeMost} patches at once, {largePeak / 1048576.0:F1} MiB (the image alone is {4096L * 4096 * 3 * 4 / 1048576.0:F0} MiB)");

        Assert.Equal((64, 16_384), (smallN, largeN));
        Assert.True(smallMost <= Math.Max(M, I) && largeMost <= Math.Max(M, I), $"patches at once: {smallMost}, {largeMost}; M {M}, I {I}");
        // The large image alone is 192 MiB, 256 times the small one's patches; selection over it may add no more than a
        // sixth of that above the small one's peak (11 MiB measured here), so its memory follows M and I, not N.
        Assert.True(largePeak - smallPeak < 32L * 1024 * 1024, $"4096 x 4096 peak {largePeak} vs 256 x 256 peak {smallPeak} bytes");
    }

    // Writes a side x side RGB PNG, black but for a square of noise of side `textured` in the top-left corner.
    private static void Textured(string path, int side, int textured)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var image = zeros(3, side, side);
        using var generator = new Generator(7);
        using var noise = rand([3, textured, textured], generator: generator);
        image[.., ..textured, ..textured] = noise;
        Ips.Imaging.ImageFile.SaveRgb(image, path);
    }

    /// <summary>N, the most patches one read held, and the peak resident memory above the level at the start of one selection.</summary>
    private static (int N, int MostAtOnce, long Peak) Measure(IterativePatchSelector selector, OwnImagesDataset dataset, int index)
    {
        using var sample = dataset.Load(index, train: false);
        var counted = new CountingPatchSource(sample.Patches);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        Assert.True(ProcessMemory.ResetPeak(), "this kernel does not allow resetting the peak RSS (/proc/self/clear_refs)");
        var before = ProcessMemory.CurrentResidentBytes();
        using (var result = selector.Select(new IPatchSource[] { counted }, CPU))
        {
            Assert.Equal(M, result.Indices.shape[1]);
        }
        return (counted.Count, counted.MostAtOnce, ProcessMemory.PeakResidentBytes() - before);
    }

    // Passes reads through, remembering the most patches any one read or gather returned.
    private sealed class CountingPatchSource(IPatchSource inner) : IPatchSource
    {
        public int MostAtOnce { get; private set; }

        public int Count => inner.Count;

        public long[] PatchShape => inner.PatchShape;

        public Device Device => inner.Device;

        public Tensor Read(int start, int count) => Counted(inner.Read(start, count));

        public Tensor Gather(ReadOnlySpan<long> indices) => Counted(inner.Gather(indices));

        // The sample owns the inner source.
        public void Dispose()
        {
        }

        private Tensor Counted(Tensor patches)
        {
            MostAtOnce = Math.Max(MostAtOnce, (int)patches.shape[0]);
            return patches;
        }
    }
}
