using Ips.Inference;
using Ips.Patches;
using Ips.Slides;

namespace Ips.Tests.Inference;

public sealed class HeatMapTiffTests : IDisposable
{
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    // Read with the managed reader: OpenSlide 3.4.1 opens the file (levels, resolution tags: PredictExportsTests) but
    // returns other pixel values than were written, for a cause not found yet (docs/slides.md).
    [Fact]
    public void Each_pixel_holds_the_encoded_attention_of_the_selected_tile_over_its_cell()
    {
        // Values are exact to half a step of the 8-bit scale (a tie rounds to even). A 1000 x 700 slide in tiles of 100: a 10 x 7 heat map. Two tiles overlap in x, and both cover the centre
        // (350, 250) of cell (3, 2): it holds their mean.
        PixelBox[] boxes = [new(0, 0, 100, 100), new(300, 200, 100, 100), new(340, 200, 100, 100), new(900, 600, 100, 100)];
        float[] scores = [0.1f, 0.4f, 0.2f, 0.05f];
        string path = _files.File("slide.heatmap.tif");

        var file = HeatMapTiff.Write(path, 1000, 700, micronsPerPixel: 0.5, boxes, scores, scaleMax: 0.4f);

        using var slide = SlideOpener.Open(path, SlideReaderKind.Tiff);
        Assert.Equal((10L, 7L), (slide.Levels[0].Width, slide.Levels[0].Height));
        var pixels = slide.ReadRegion(0, 0, 0, 10, 7);
        float At(int x, int y) => file.Attention(pixels[(y * 10 + x) * 3]);
        float step = 0.4f / 254;
        Assert.Equal(0.1f, At(0, 0), step * 0.51f);
        Assert.Equal(0.3f, At(3, 2), step * 0.51f);
        Assert.Equal(0.05f, At(9, 6), step * 0.51f);
        Assert.Equal(3, Enumerable.Range(0, 70).Count(i => pixels[i * 3] != 0));
        Assert.All(Enumerable.Range(0, 70), i => Assert.True(pixels[i * 3] == pixels[i * 3 + 1] && pixels[i * 3] == pixels[i * 3 + 2]));
    }
}
