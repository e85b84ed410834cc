using Ips.Data.Camelyon16;
using Ips.Modeling;
using Ips.Selection;
using Ips.Slides;
using Ips.Tests.Features;
using Ips.Tests.Modeling;
using Ips.Training;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Ips.Tests.Slides;

/// <summary>IPS over a slide's tiles streamed from disk: peak memory does not grow with the slide (docs/design.md section 3).</summary>
[Collection(nameof(MemoryMeasurement))]
public sealed class SlideSelectionMemoryTests(ITestOutputHelper output) : IDisposable
{
    private const int Level = 3, Tile = 64;
    private readonly string _scratch = Directory.CreateTempSubdirectory("ips-slide-memory-").FullName;

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    [Fact]
    public void Selection_over_a_40k_slide_peaks_like_selection_over_a_10k_slide()
    {
        // Tissue covers the same fraction of both slides, so the 40k slide has 16 times the tissue and the tiles.
        var small = Write("10k.tif", 10_000);
        var large = Write("40k.tif", 40_000);
        var config = ModelFixtures.SmallImageConfig() with { NChanIn = 3, M = 4, I = 64, UsePos = false };
        manual_seed(5);
        using var net = new IpsNet(config);
        net.eval();
        var selector = new IterativePatchSelector(net);

        Measure(selector, small); // warm-up: libtorch's allocator and thread pools reach their steady size
        var (smallPeak, smallGrowth, smallTiles) = Measure(selector, small);
        var (largePeak, largeGrowth, largeTiles) = Measure(selector, large);
        // What holding the 40k slide's tiles would take: float pixels of every tile, as a materialised source would.
        long materialised = (long)largeTiles * 3 * Tile * Tile * sizeof(float);
        output.WriteLine($"selection over 10k x 10k ({smallTiles} tiles): peak {smallPeak / 1048576.0:F1} MiB, growth {smallGrowth / 1048576.0:F1} MiB; " +
            $"40k x 40k ({largeTiles} tiles): peak {largePeak / 1048576.0:F1} MiB, growth {largeGrowth / 1048576.0:F1} MiB; " +
            $"the 40k tiles held at once would take {materialised / 1048576.0:F0} MiB");

        Assert.Equal(16 * smallTiles, largeTiles, tolerance: 2 * 16 * 40);
        Assert.True(largePeak <= 1.15 * smallPeak, $"40k peak {largePeak} vs 10k peak {smallPeak} bytes: more than 15 % above");
        Assert.True(largeGrowth - smallGrowth < materialised / 10,
            $"40k growth {largeGrowth} vs 10k growth {smallGrowth} bytes: the difference is not small against the {materialised} bytes of the tiles");
    }

    private string Write(string name, int size)
    {
        var path = Path.Combine(_scratch, name);
        PyramidalTiffWriter.Write(path, new SyntheticTissue(size, size, seed: 11, tissueFraction: 0.005, blobRadius: 400));
        return path;
    }

    /// <summary>
    /// Peak resident memory of the process during one selection over every tile of level 3, and its growth above the
    /// level at the start.
    /// </summary>
    private static (long Peak, long Growth, int Tiles) Measure(IterativePatchSelector selector, string path)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        Assert.True(ProcessMemory.ResetPeak(), "this kernel does not allow resetting the peak RSS (/proc/self/clear_refs)");
        var before = ProcessMemory.CurrentResidentBytes();
        // A small cache budget, which both slides fill: the cache is the reader's only memory that could grow.
        using var slide = TiffSlide.Open(path, new TiffSlideOptions { CacheBytes = 4L * 1024 * 1024 });
        var level = slide.Levels[Level];
        var coordinates = new List<(long X, long Y)>();
        for (long y = 0; y < level.Height; y += Tile)
        {
            for (long x = 0; x < level.Width; x += Tile)
            {
                coordinates.Add(((long)(x * level.Downsample), (long)(y * level.Downsample)));
            }
        }
        using (var source = new SlideTileSource(slide, Level, Tile, coordinates))
        using (var result = selector.Select([source], CPU))
        {
            Assert.Equal(4, result.Indices.shape[1]);
        }
        long peak = ProcessMemory.PeakResidentBytes();
        return (peak, peak - before, coordinates.Count);
    }
}
