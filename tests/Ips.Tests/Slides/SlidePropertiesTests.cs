using Ips.Slides;

namespace Ips.Tests.Slides;

/// <summary>Levels, resolution, vendor and properties as the managed reader parses them, checked against OpenSlide.</summary>
public sealed class SlidePropertiesTests(GeneratedSlides slides) : IClassFixture<GeneratedSlides>
{
    private static readonly SlideLevel[] ExpectedLevels =
        [new(2048, 1536, 1), new(1024, 768, 2), new(512, 384, 4), new(256, 192, 8)];

    [Fact]
    public void Generic_tiff_levels_and_mpp_come_from_the_tiled_directories_and_resolution_tags()
    {
        using var slide = TiffSlide.Open(slides.Jpeg);
        Assert.Equal("generic-tiff", slide.Vendor);
        Assert.Equal(ExpectedLevels, slide.Levels);
        Assert.Equal((0.5, 0.5), slide.MicronsPerPixel);
        Assert.Null(slide.ObjectivePower);
        Assert.Equal((256, 256), slide.TileSize(3));
        Assert.Equal("centimeter", slide.Properties["tiff.ResolutionUnit"]);
        Assert.Equal("20000", slide.Properties["tiff.XResolution"]);
    }

    [Fact]
    public void Aperio_levels_skip_thumbnail_and_label_and_mpp_and_power_come_from_the_description()
    {
        using var slide = TiffSlide.Open(slides.Svs);
        Assert.Equal("aperio", slide.Vendor);
        Assert.Equal(ExpectedLevels, slide.Levels);
        Assert.Equal((0.499, 0.499), slide.MicronsPerPixel);
        Assert.Equal(20, slide.ObjectivePower);
        Assert.Equal("20", slide.Properties["aperio.AppMag"]);
        Assert.Equal("0.499", slide.Properties["aperio.MPP"]);
        Assert.Equal("IPS-SYNTHETIC", slide.Properties["aperio.ScanScope ID"]);
        Assert.StartsWith("Aperio Image Library", slide.Properties["openslide.comment"], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("jpeg")]
    [InlineData("lzw")]
    [InlineData("svs")]
    public void Properties_match_openslide_under_openslides_names(string kind)
    {
        using var managed = SlideOpener.Open(slides[kind], SlideReaderKind.Tiff);
        using var native = SlideOpener.Open(slides[kind], SlideReaderKind.OpenSlide);
        Assert.Equal(native.Vendor, managed.Vendor);
        Assert.Equal(native.Levels, managed.Levels);
        Assert.Equal(native.ObjectivePower, managed.ObjectivePower);

        // Every property OpenSlide reports, with the same value, except the quick hash (a digest of the smallest
        // level's raw tiles that the managed reader does not compute).
        foreach (var (key, value) in native.Properties.Where(p => p.Key != "openslide.quickhash-1"))
        {
            Assert.True(managed.Properties.TryGetValue(key, out var ours), $"{kind}: property {key} missing");
            Assert.Equal(value, ours);
        }
        // OpenSlide 3.4.1 does not turn a generic TIFF's resolution tags into openslide.mpp-*; the managed reader
        // does (as OpenSlide 4 does), and adds nothing else.
        var extra = managed.Properties.Keys.Except(native.Properties.Keys).Order().ToArray();
        Assert.Equal(kind == "svs" ? [] : new[] { "openslide.mpp-x", "openslide.mpp-y" }, extra);
    }

    [Fact]
    public void Thumbnail_of_a_slide_is_the_content_scaled_down()
    {
        using var slide = TiffSlide.Open(slides.Lzw);
        var thumbnail = slide.ReadThumbnail(128);
        Assert.Equal((128, 96, 16.0), (thumbnail.Width, thumbnail.Height, thumbnail.Downsample));
        Assert.Equal(128 * 96 * 3, thumbnail.Rgb.Length);
        // Built from level 3 (downsample 8): each thumbnail pixel averages 2 x 2 level-3 pixels.
        var level3 = slide.ReadRegion(3, 0, 0, 256, 192);
        for (int y = 0; y < 96; y += 7)
        {
            for (int x = 0; x < 128; x += 5)
            {
                for (int c = 0; c < 3; c++)
                {
                    int sum = 0;
                    for (int dy = 0; dy < 2; dy++)
                    {
                        for (int dx = 0; dx < 2; dx++)
                        {
                            sum += level3[((2 * y + dy) * 256 + 2 * x + dx) * 3 + c];
                        }
                    }
                    Assert.Equal((sum + 2) / 4, thumbnail.Rgb[(y * 128 + x) * 3 + c]);
                }
            }
        }
    }

    [Fact]
    public void Parallel_reads_equal_sequential_reads()
    {
        using var slide = TiffSlide.Open(slides.Jpeg, new TiffSlideOptions { CacheBytes = 512 * 1024 });
        var regions = Enumerable.Range(0, 48).Select(i => (Level: i % 3, X: (i * 211L) % 1900, Y: (i * 137L) % 1400)).ToArray();
        var sequential = regions.Select(r => slide.ReadRegion(r.Level, r.X, r.Y, 300, 200)).ToArray();
        var parallel = new byte[regions.Length][];
        Parallel.For(0, regions.Length, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
            parallel[i] = slide.ReadRegion(regions[i].Level, regions[i].X, regions[i].Y, 300, 200));
        for (int i = 0; i < regions.Length; i++)
        {
            Assert.Equal(sequential[i], parallel[i]);
        }
    }
}
