using Ips.Slides;
using Ips.Tests.Slides;
using Ips.Viewer;

namespace Ips.Tests.Viewer;

public sealed class OpenSlidesTests(GeneratedSlides slides) : IClassFixture<GeneratedSlides>
{
    private readonly List<string> _opened = [];

    private ISlide Open(string path)
    {
        _opened.Add(Path.GetFileName(path));
        return SlideOpener.Open(path);
    }

    [Fact]
    public void The_least_recently_used_slide_is_closed_beyond_the_capacity_and_opened_again_when_asked()
    {
        using var open = new OpenSlides(2, Open);

        foreach (var path in new[] { slides.Jpeg, slides.Lzw, slides.Jpeg, slides.Deflate, slides.Jpeg, slides.Lzw })
        {
            using var lease = open.Acquire(path);
            Assert.Equal(path, lease.Slide.Path);
        }

        // jpeg stays (used again before deflate came), lzw was dropped for deflate and is opened a second time.
        Assert.Equal(["jpeg.tif", "lzw.tif", "deflate.tif", "lzw.tif"], _opened);
        Assert.Equal(2, open.Count);
    }

    [Fact]
    public void A_slide_still_read_survives_its_eviction_until_the_lease_ends()
    {
        using var open = new OpenSlides(1, Open);
        using var first = open.Acquire(slides.Jpeg);

        using (open.Acquire(slides.Lzw))
        {
            Assert.Equal(1, open.Count);
            Assert.Equal(3 * 16 * 16, first.Slide.ReadRegion(0, 0, 0, 16, 16).Length);
        }
    }

    [Fact]
    public void A_slide_that_fails_to_open_is_not_tried_again()
    {
        using var folder = new TempFiles();
        File.WriteAllText(folder.File("broken.tif"), "not a TIFF");
        using var open = new OpenSlides(2, Open);

        var first = Assert.ThrowsAny<IOException>(() => open.Acquire(folder.File("broken.tif")));
        var second = Assert.ThrowsAny<IOException>(() => open.Acquire(folder.File("broken.tif")));

        Assert.Same(first, second);
        Assert.Equal(["broken.tif"], _opened);
        Assert.Contains("broken.tif", first.Message);
    }
}
