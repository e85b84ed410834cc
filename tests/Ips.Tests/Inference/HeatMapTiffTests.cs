using Ips.Inference;
using Ips.Patches;
using Ips.Slides;

namespace Ips.Tests.Inference;

public sealed class HeatMapTiffTests : IDisposable
{
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public void Each_pixel_read_through_OpenSlide_holds_the_encoded_attention_of_the_selected_tile_over_its_cell()
    {
        // Values are exact to half a step of the 8-bit scale (a tie rounds to even). A 1000 x 700 slide in tiles of 100:
        // 10 x 7 cells, filled up to OpenSlide's smallest readable level (16 x 16) with empty cells. Two tiles overlap in
        // x, and both cover the centre (350, 250) of cell (3, 2): it holds their mean.
        PixelBox[] boxes = [new(0, 0, 100, 100), new(300, 200, 100, 100), new(340, 200, 100, 100), new(900, 600, 100, 100)];
        float[] scores = [0.1f, 0.4f, 0.2f, 0.05f];
        string path = _files.File("slide.heatmap.tif");

        var file = HeatMapTiff.Write(path, 1000, 700, micronsPerPixel: 0.5, boxes, scores, scaleMax: 0.4f);

        using var slide = SlideOpener.Open(path, SlideReaderKind.OpenSlide);
        Assert.Equal("openslide", slide.Reader);
        Assert.Equal((16L, 16L), (slide.Levels[0].Width, slide.Levels[0].Height));
        var pixels = slide.ReadRegion(0, 0, 0, 16, 16);
        float At(int x, int y) => file.Attention(pixels[(y * 16 + x) * 3]);
        float step = 0.4f / 254;
        Assert.Equal(0.1f, At(0, 0), step * 0.51f);
        Assert.Equal(0.3f, At(3, 2), step * 0.51f);
        Assert.Equal(0.05f, At(9, 6), step * 0.51f);
        Assert.Equal(3, Enumerable.Range(0, 256).Count(i => pixels[i * 3] != 0));
        Assert.All(Enumerable.Range(0, 256), i => Assert.True(pixels[i * 3] == pixels[i * 3 + 1] && pixels[i * 3] == pixels[i * 3 + 2]));
    }

    [Fact]
    public void Every_level_of_a_wide_heat_map_reads_the_same_through_OpenSlide_as_through_the_managed_reader()
    {
        // A 100k x 30k slide in tiles of 256: 391 x 118 cells, a hot tile every 7th cell. Levels halve while both sides
        // stay at least a tile (16): 391 x 118, 196 x 59, 98 x 30; 49 x 15 would be shorter than a tile.
        var boxes = Enumerable.Range(0, 391 * 118).Where(i => i % 7 == 0).Select(i => new PixelBox(i % 391 * 256, i / 391 * 256, 256, 256)).ToList();
        var scores = boxes.Select((_, k) => k % 100 / 100f).ToList();
        string path = _files.File("wide.heatmap.tif");

        HeatMapTiff.Write(path, 100_000, 30_000, micronsPerPixel: 0.25, boxes, scores, scaleMax: 1f);

        using var openSlide = SlideOpener.Open(path, SlideReaderKind.OpenSlide);
        using var managed = SlideOpener.Open(path, SlideReaderKind.Tiff);
        Assert.Equal([(391L, 118L), (196L, 59L), (98L, 30L)], openSlide.Levels.Select(l => (l.Width, l.Height)));
        for (int level = 0; level < openSlide.Levels.Count; level++)
        {
            var (width, height) = ((int)openSlide.Levels[level].Width, (int)openSlide.Levels[level].Height);
            Assert.Equal(managed.ReadRegion(level, 0, 0, width, height), openSlide.ReadRegion(level, 0, 0, width, height));
        }
        var levelZero = openSlide.ReadRegion(0, 0, 0, 391, 118);
        Assert.Equal(boxes.Count, Enumerable.Range(0, 391 * 118).Count(i => levelZero[i * 3] != 0));
        Assert.Equal(1 + 254 * 0.99, levelZero[(boxes[99].Y / 256 * 391 + boxes[99].X / 256) * 3], 0.5);
    }
}
