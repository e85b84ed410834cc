using Ips.Slides.Annotations;
using Ips.Slides.Tiling;

namespace Ips.Tests.Slides;

public sealed class TilingTests
{
    private static readonly (byte, byte, byte) Purple = (104, 58, 152);
    private static readonly (byte, byte, byte) White = (255, 255, 255);

    // Tissue rectangles [x0, x1) x [y0, y1) in level-0 pixels, chosen so that some tiles hold just above and some just
    // below 1 % tissue (164 of 128 x 128 pixels).
    private static readonly (int X0, int X1, int Y0, int Y1)[] Rectangles =
    [
        (100, 400, 50, 300),
        (700, 713, 500, 513),   // 13 x 12 = 156 pixels in one tile (dropped), 13 x 1 in the row below
        (900, 914, 130, 142),   // 14 x 12 = 168 pixels in one tile (kept)
    ];

    private static InMemorySlide Slide(int levels = 1) =>
        InMemorySlide.Paint(1000, 700, (x, y) => Rectangles.Any(r => x >= r.X0 && x < r.X1 && y >= r.Y0 && y < r.Y1) ? Purple : White, levels);

    // Tissue pixels of a tile, counted from the rectangles: the pixels at (x0 + (i + 0.5) d, y0 + (j + 0.5) d).
    private static int ExpectedTissue(long x0, long y0, int size, double d) =>
        Enumerable.Range(0, size).Sum(j => Enumerable.Range(0, size).Count(i =>
        {
            long x = (long)Math.Floor(x0 + (i + 0.5) * d), y = (long)Math.Floor(y0 + (j + 0.5) * d);
            return x < 1000 && y < 700 && Rectangles.Any(r => x >= r.X0 && x < r.X1 && y >= r.Y0 && y < r.Y1);
        }));

    [Theory]
    [InlineData(0, 128, 0)]
    [InlineData(0, 128, 28)]
    [InlineData(1, 64, 0)]
    public void Kept_tiles_are_those_with_at_least_one_percent_tissue(int level, int tileSize, int overlap)
    {
        using var slide = Slide(levels: 2);
        var options = new TilingOptions { Level = level, TileSize = tileSize, Overlap = overlap };
        int threshold = SlideTiler.Threshold(slide, level);
        var tiles = SlideTiler.Tile(slide, options, threshold);

        double d = slide.Levels[level].Downsample;
        int step = (int)(tileSize * d + 0.5) - (int)(overlap * d + 0.5);
        var expected = new List<(int, int)>();
        for (int y = 0; y < 700; y += step)
        {
            for (int x = 0; x < 1000; x += step)
            {
                if (ExpectedTissue(x, y, tileSize, d) >= 0.01 * tileSize * tileSize)
                {
                    expected.Add((x, y));
                }
            }
        }
        Assert.Equal(expected, tiles.X.Zip(tiles.Y));
        Assert.Equal(Enumerable.Range(0, (700 + step - 1) / step).Count() * ((1000 + step - 1) / step), tiles.Grid.Count);
        Assert.All(tiles.TumourFraction, f => Assert.Equal(0f, f));
    }

    [Fact]
    public void The_near_threshold_tiles_fall_on_the_right_sides()
    {
        using var slide = Slide();
        var tiles = SlideTiler.Tile(slide, new TilingOptions { TileSize = 128 }, SlideTiler.Threshold(slide, 0));
        var kept = tiles.X.Zip(tiles.Y).ToHashSet();
        Assert.DoesNotContain((640, 384), kept);   // 156 tissue pixels
        Assert.Contains((896, 128), kept);         // 168 tissue pixels
        Assert.Equal(168f / (128 * 128), tiles.TissueFraction[Array.IndexOf(tiles.X, 896)]);
        // The 12 tiles of the large rectangle and the one of the 168-pixel speck.
        Assert.Equal(13, ExpectedCount());
        Assert.Equal(ExpectedCount(), tiles.Count);

        static int ExpectedCount()
        {
            int count = 0;
            for (int y = 0; y < 700; y += 128)
            {
                for (int x = 0; x < 1000; x += 128)
                {
                    count += ExpectedTissue(x, y, 128, 1) >= 163.84 ? 1 : 0;
                }
            }
            return count;
        }
    }

    [Fact]
    public void Annotated_tiles_are_kept_even_on_glass_and_carry_their_tumour_fraction()
    {
        using var slide = InMemorySlide.Paint(512, 512, (x, y) => x < 20 && y < 20 ? Purple : White);
        // A tumour square over the right half of tile (256, 256) and nothing else.
        var square = new AnnotationPolygon("t", [384, 512, 512, 384], [256, 256, 384, 384]);
        var tiles = SlideTiler.Tile(slide, new TilingOptions { TileSize = 128 }, SlideTiler.Threshold(slide, 0), new TumourRegions([square], []));

        Assert.Equal([(0, 0), (384, 256)], tiles.X.Zip(tiles.Y));
        Assert.Equal([0f, 1f], tiles.TumourFraction);
        Assert.Equal(0f, tiles.TissueFraction[1]);
    }

    [Fact]
    public void A_tile_half_inside_a_tumour_polygon_has_tumour_fraction_one_half()
    {
        // A triangle whose diagonal halves the tile [0, 256)^2, and a rectangle over its left half.
        var triangle = new AnnotationPolygon("diagonal", [-10, 266, -10], [-10, 266, 266]);
        var half = new AnnotationPolygon("half", [0, 128, 128, 0], [-50, -50, 300, 300]);
        var fractions = new float[1];

        new TumourRegions([triangle], []).RowFractions(0, 256, 1, [0], 256, fractions);
        Assert.Equal(0.5, fractions[0], 0.01);

        new TumourRegions([half], []).RowFractions(0, 256, 1, [0], 256, fractions);
        Assert.Equal(0.5, fractions[0], 1e-6);
    }

    [Fact]
    public void Exclusions_are_cut_out_of_tumour_and_overlapping_tumour_counts_once()
    {
        var whole = new AnnotationPolygon("whole", [0, 100, 100, 0], [0, 0, 100, 100]);
        var again = new AnnotationPolygon("overlap", [50, 150, 150, 50], [0, 0, 100, 100]);
        var hole = new AnnotationPolygon("hole", [25, 75, 75, 25], [0, 0, 50, 50]);
        var fractions = new float[2];

        // Tiles [0, 100) and [100, 200) at rows 0..100 at downsample 1.
        new TumourRegions([whole, again], [hole]).RowFractions(0, 100, 1, [0, 100], 100, fractions);
        Assert.Equal(0.75, fractions[0], 1e-6);
        Assert.Equal(0.5, fractions[1], 1e-6);
    }

    [Fact]
    public void Bad_options_name_the_option()
    {
        using var slide = Slide();
        Assert.Contains("--overlap must be within 0 .. --tile-size - 1 (255), got 256",
            Assert.Throws<ArgumentException>(() => new TileGrid(slide, new TilingOptions { Overlap = 256 })).Message);
        Assert.Contains("--level 3: the slide has levels 0 .. ", Assert.Throws<ArgumentException>(() => new TileGrid(slide, new TilingOptions { Level = 3 })).Message);
        Assert.Contains("--fg-perc-thresh must be within 0 .. 1, got 2",
            Assert.Throws<ArgumentException>(() => new TileGrid(slide, new TilingOptions { FgPercThresh = 2 })).Message);
        // The Otsu level is named as its own option, not as --level.
        Assert.Contains("--otsu-level 9: the slide has levels 0 .. ",
            Assert.Throws<ArgumentException>(() => new TileGrid(slide, new TilingOptions { OtsuLevel = 9 })).Message);
    }
}
