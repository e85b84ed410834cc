using Ips.Slides;
using Xunit.Abstractions;

namespace Ips.Tests.Slides;

/// <summary>
/// The managed reader and OpenSlide return the same pixels for the same regions of the same generated slides, and
/// lossless slides return exactly the content they were written from.
/// </summary>
public sealed class ReaderAgreementTests(GeneratedSlides slides, ITestOutputHelper output) : IClassFixture<GeneratedSlides>
{
    // Bounds for JPEG tiles, measured on these slides: LibTiff.NET's managed JPEG decoder and libjpeg (OpenSlide)
    // upsample the 2x2-subsampled chroma differently, which moves a few pixels at sharp colour edges (nucleus
    // borders) by up to 30 grey levels; the mean difference was at most 0.37 and under 1 % of samples differ by more
    // than 4.
    private const int JpegMaxDifference = 32;
    private const double JpegMeanDifference = 0.5;
    private const double JpegFractionOver4 = 0.01;

    public static TheoryData<string, int, long, long, int, int> Regions()
    {
        var data = new TheoryData<string, int, long, long, int, int>();
        foreach (var kind in new[] { "jpeg", "lzw", "deflate", "svs" })
        {
            data.Add(kind, 0, 200, 230, 400, 300);    // crosses two tile columns and two tile rows
            data.Add(kind, 0, 1900, 1400, 300, 250);  // runs past the right and bottom edges
            data.Add(kind, 2, 400, 320, 200, 150);    // level 2 (downsample 4), crosses a tile border
            data.Add(kind, 2, -256, 1200, 200, 200);  // starts left of the slide and runs past the bottom
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Regions))]
    public void Both_readers_return_the_same_pixels(string kind, int level, long x, long y, int width, int height)
    {
        using var managed = SlideOpener.Open(slides[kind], SlideReaderKind.Tiff);
        using var native = SlideOpener.Open(slides[kind], SlideReaderKind.OpenSlide);
        Assert.Equal("tiff", managed.Reader);
        Assert.Equal("openslide", native.Reader);

        var ours = managed.ReadRegion(level, x, y, width, height);
        var theirs = native.ReadRegion(level, x, y, width, height);
        Assert.Equal(width * height * 3, ours.Length);
        Assert.Equal(ours.Length, theirs.Length);

        var (max, mean, over4) = Compare(ours, theirs);
        output.WriteLine($"{kind} level {level} ({x}, {y}) {width}x{height}: max |tiff - openslide| {max}, mean {mean:F3}, fraction > 4: {over4:P2}");
        if (kind is "lzw" or "deflate")
        {
            Assert.Equal(theirs, ours);
            Assert.Equal(slides.Expected(level, x, y, width, height), ours);
        }
        else
        {
            Assert.True(max <= JpegMaxDifference, $"max difference {max}");
            Assert.True(mean <= JpegMeanDifference, $"mean difference {mean}");
            Assert.True(over4 <= JpegFractionOver4, $"fraction over 4: {over4}");
        }
        AssertOutsideIsWhite(ours, level, x, y, width, height);
        AssertOutsideIsWhite(theirs, level, x, y, width, height);
    }

    [Theory]
    [InlineData("jpeg")]
    [InlineData("svs")]
    public void Jpeg_tiles_decode_close_to_the_content_they_were_written_from(string kind)
    {
        using var slide = SlideOpener.Open(slides[kind], SlideReaderKind.Tiff);
        var read = slide.ReadRegion(0, 0, 0, GeneratedSlides.Width, GeneratedSlides.Height);
        var (_, mean, _) = Compare(read, slides.Expected(0, 0, 0, GeneratedSlides.Width, GeneratedSlides.Height));
        output.WriteLine($"{kind}: mean |decoded - content| {mean:F3} at quality 80");
        Assert.True(mean < 3, $"mean difference {mean}");
    }

    private static (int Max, double Mean, double Over4) Compare(byte[] a, byte[] b)
    {
        int max = 0, over4 = 0;
        long sum = 0;
        for (int i = 0; i < a.Length; i++)
        {
            int difference = Math.Abs(a[i] - b[i]);
            max = Math.Max(max, difference);
            sum += difference;
            over4 += difference > 4 ? 1 : 0;
        }
        return (max, (double)sum / a.Length, (double)over4 / a.Length);
    }

    private static void AssertOutsideIsWhite(byte[] rgb, int level, long x, long y, int width, int height)
    {
        long downsample = 1L << level;
        long levelWidth = GeneratedSlides.Width / downsample, levelHeight = GeneratedSlides.Height / downsample;
        for (int j = 0; j < height; j++)
        {
            for (int i = 0; i < width; i++)
            {
                long lx = x / downsample + i, ly = y / downsample + j;
                if (lx < 0 || ly < 0 || lx >= levelWidth || ly >= levelHeight)
                {
                    int at = (j * width + i) * 3;
                    Assert.True(rgb[at] == 255 && rgb[at + 1] == 255 && rgb[at + 2] == 255, $"pixel ({i}, {j}) outside the slide is not white");
                }
            }
        }
    }
}
