using Ips.Modeling;
using Ips.Patches;
using Ips.Selection;
using Ips.Slides;
using Ips.Tests.Modeling;
using static TorchSharp.torch;

namespace Ips.Tests.Slides;

/// <summary>The tile source decodes only the tiles asked for, and IPS over it equals IPS over the same tiles in memory.</summary>
public sealed class SlideTileSourceTests(GeneratedSlides slides) : IClassFixture<GeneratedSlides>
{
    private const int Level = 3, Tile = 32;

    // Every Tile x Tile tile of level 3 (256 x 192), as level-0 corners.
    private static (long X, long Y)[] AllTiles() =>
        [.. from ty in Enumerable.Range(0, GeneratedSlides.Height / 8 / Tile)
            from tx in Enumerable.Range(0, GeneratedSlides.Width / 8 / Tile)
            select ((long)tx * Tile * 8, (long)ty * Tile * 8)];

    [Fact]
    public void Read_and_gather_decode_exactly_the_requested_tiles()
    {
        var coordinates = AllTiles();
        using var counting = new CountingSlide(TiffSlide.Open(slides.Lzw));
        using var source = new SlideTileSource(counting, Level, Tile, coordinates);
        Assert.Equal(coordinates.Length, source.Count);
        Assert.Equal(new long[] { 3, Tile, Tile }, source.PatchShape);

        using var chunk = source.Read(20, 3);
        Assert.Equal(new long[] { 3, 3, Tile, Tile }, chunk.shape);
        Assert.Equal(coordinates[20..23].Order(), counting.Reads.Order());

        counting.Reads.Clear();
        using var picked = source.Gather([40, 7]);
        Assert.Equal(new long[] { 2, 3, Tile, Tile }, picked.shape);
        Assert.Equal(new[] { coordinates[7], coordinates[40] }.Order(), counting.Reads.Order());

        // Tile 40 as the content renders it, planes in [0, 1].
        using var expected = InMemoryTiles([coordinates[40]]);
        Assert.True(picked[0].equal(expected[0]).all().item<bool>());
        Assert.Throws<ArgumentOutOfRangeException>(() => source.Gather([coordinates.Length]));
    }

    [Fact]
    public void Selection_on_the_slide_equals_selection_on_the_same_tiles_in_memory()
    {
        var coordinates = AllTiles();
        var config = ModelFixtures.SmallImageConfig(coordinates.Length) with { NChanIn = 3, M = 5, I = 8 };
        // Any weights do: both selections run the same model.
        manual_seed(3);
        using var net = new IpsNet(config);
        net.eval();
        var selector = new IterativePatchSelector(net);

        using var streamed = new SlideTileSource(TiffSlide.Open(slides.Lzw), Level, Tile, coordinates, ownsSlide: true);
        using var held = TensorPatchSource.FromPatches(InMemoryTiles(coordinates));
        using var fromSlide = selector.Select([streamed], CPU);
        using var fromMemory = selector.Select([held], CPU);

        Assert.Equal(fromMemory.Indices.data<long>().ToArray(), fromSlide.Indices.data<long>().ToArray());
        Assert.Equal(fromMemory.Patches.shape, fromSlide.Patches.shape);
        Assert.True(fromMemory.Patches.equal(fromSlide.Patches).all().item<bool>());
        // The test means something only if the selection is not trivially the first M tiles.
        Assert.NotEqual(Enumerable.Range(0, 5).Select(i => (long)i), fromSlide.Indices.data<long>().ToArray());
    }

    // Tiles rendered straight from the slide's content (level 3: downsample 8), as [k, 3, Tile, Tile] in [0, 1].
    private Tensor InMemoryTiles((long X, long Y)[] coordinates)
    {
        var data = new float[coordinates.Length * 3 * Tile * Tile];
        var rgb = new byte[Tile * Tile * 3];
        for (int k = 0; k < coordinates.Length; k++)
        {
            slides.Content.Render(8, coordinates[k].X / 8, coordinates[k].Y / 8, Tile, Tile, rgb);
            for (int p = 0; p < Tile * Tile; p++)
            {
                for (int c = 0; c < 3; c++)
                {
                    data[((k * 3) + c) * Tile * Tile + p] = rgb[p * 3 + c] / 255f;
                }
            }
        }
        return tensor(data, [coordinates.Length, 3, Tile, Tile]);
    }

    /// <summary>A slide that records the level-0 corner of every region read.</summary>
    private sealed class CountingSlide(ISlide inner) : ISlide
    {
        public List<(long X, long Y)> Reads { get; } = [];

        public string Path => inner.Path;

        public string Reader => inner.Reader;

        public IReadOnlyList<SlideLevel> Levels => inner.Levels;

        public (double X, double Y)? MicronsPerPixel => inner.MicronsPerPixel;

        public double? ObjectivePower => inner.ObjectivePower;

        public string Vendor => inner.Vendor;

        public IReadOnlyDictionary<string, string> Properties => inner.Properties;

        public byte[] ReadRegion(int level, long x, long y, int width, int height)
        {
            lock (Reads)
            {
                Reads.Add((x, y));
            }
            return inner.ReadRegion(level, x, y, width, height);
        }

        public void Dispose() => inner.Dispose();
    }
}
