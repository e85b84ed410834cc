using Ips.Slides.Tiling;

namespace Ips.Tests.Slides;

public sealed class TileCoordsFileTests : IDisposable
{
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public void Coordinates_fractions_and_attributes_round_trip(int level)
    {
        using var slide = InMemorySlide.Paint(600, 500, (x, y) => (x / 50 + y / 50) % 3 == 0 ? ((byte)104, (byte)58, (byte)152) : ((byte)255, (byte)255, (byte)255), levels: 2);
        var options = new TilingOptions { Level = level, TileSize = 64, Overlap = 8, FgPercThresh = 0.2, OtsuLevel = 1 };
        var tiles = SlideTiler.Tile(slide, options, SlideTiler.Threshold(slide, 1));
        Assert.InRange(tiles.Count, 10, (int)tiles.Grid.Count - 1);
        var path = _files.File("slide.h5");

        TileCoordsFile.Write(path, "slide", tiles, options, slide);
        var read = TileCoordsFile.Read(path);

        Assert.Equal(tiles.Count, read.Count);
        Assert.Equal(tiles.X, Enumerable.Range(0, read.Count).Select(i => read.Coords[i, 0]));
        Assert.Equal(tiles.Y, Enumerable.Range(0, read.Count).Select(i => read.Coords[i, 1]));
        Assert.Equal(tiles.TissueFraction, read.TissueFraction);
        Assert.Equal(tiles.TumourFraction, read.TumourFraction);
        Assert.Equal(new TileCoordsInfo(level, 64, 8, 0.2, 1, tiles.Threshold), read.Info);
        Assert.True(read.Info.Matches(options));
        Assert.False(read.Info.Matches(options with { TileSize = 128 }));
        Assert.Empty(Directory.GetFiles(_files.Root, "*.tmp*"));
    }

    [Fact]
    public void A_slide_without_kept_tiles_writes_an_empty_coordinate_list()
    {
        using var slide = InMemorySlide.Paint(100, 100, (_, _) => ((byte)255, (byte)255, (byte)255));
        var options = new TilingOptions { TileSize = 32 };
        var tiles = SlideTiler.Tile(slide, options, SlideTiler.Threshold(slide, 0));
        var path = _files.File("blank.h5");
        TileCoordsFile.Write(path, "blank", tiles, options, slide);
        Assert.Equal(0, TileCoordsFile.Read(path).Count);
    }

    [Fact]
    public void A_file_that_is_not_hdf5_is_named()
    {
        var path = _files.File("fake.h5");
        File.WriteAllText(path, "not hdf5");
        Assert.Contains(path, Assert.Throws<InvalidDataException>(() => TileCoordsFile.Read(path)).Message);
    }
}
