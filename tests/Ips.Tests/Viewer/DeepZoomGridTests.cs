using System.Xml.Linq;
using Ips.Viewer;

namespace Ips.Tests.Viewer;

public sealed class DeepZoomGridTests
{
    [Fact]
    public void Levels_halve_from_the_full_resolution_down_to_one_pixel()
    {
        var grid = new DeepZoomGrid(2048, 1536);

        Assert.Equal(11, grid.MaxLevel);
        Assert.Equal((2048L, 1536L), grid.LevelSize(11));
        Assert.Equal((1024L, 768L), grid.LevelSize(10));
        Assert.Equal((1L, 1L), grid.LevelSize(0));
        Assert.Equal(4, grid.Scale(9));
    }

    [Fact]
    public void Odd_sizes_round_up_at_every_level()
    {
        var grid = new DeepZoomGrid(1001, 3);

        Assert.Equal(10, grid.MaxLevel);
        Assert.Equal((501L, 2L), grid.LevelSize(9));
        Assert.Equal((126L, 1L), grid.LevelSize(7));
    }

    [Fact]
    public void Tiles_cover_a_level_with_a_smaller_last_row_and_column_and_none_beyond()
    {
        var grid = new DeepZoomGrid(600, 300);

        Assert.Equal((0L, 0L, 256, 256), grid.Tile(10, 0, 0));
        Assert.Equal((512L, 256L, 88, 44), grid.Tile(10, 2, 1));
        Assert.Null(grid.Tile(10, 3, 0));
        Assert.Null(grid.Tile(10, 0, 2));
        Assert.Null(grid.Tile(11, 0, 0));
        Assert.Null(grid.Tile(-1, 0, 0));
    }

    [Fact]
    public void The_descriptor_is_deep_zoom_xml_with_the_size_and_tiling()
    {
        var image = XDocument.Parse(new DeepZoomGrid(100000, 75000).Descriptor()).Root!;
        XNamespace deepZoom = "http://schemas.microsoft.com/deepzoom/2008";

        Assert.Equal(deepZoom + "Image", image.Name);
        Assert.Equal("jpg", (string?)image.Attribute("Format"));
        Assert.Equal(256, (int?)image.Attribute("TileSize"));
        Assert.Equal(0, (int?)image.Attribute("Overlap"));
        Assert.Equal(100000, (long?)image.Element(deepZoom + "Size")!.Attribute("Width"));
        Assert.Equal(75000, (long?)image.Element(deepZoom + "Size")!.Attribute("Height"));
    }
}
