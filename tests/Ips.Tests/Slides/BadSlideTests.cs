using System.IO.Compression;
using BitMiracle.LibTiff.Classic;
using Ips.Cli;
using Ips.Slides;

namespace Ips.Tests.Slides;

/// <summary>Broken or unsupported slide files give one message naming the file, and the CLI exits non-zero.</summary>
public sealed class BadSlideTests(GeneratedSlides slides) : IClassFixture<GeneratedSlides>
{
    [Fact]
    public void Truncated_tiff_is_reported_as_truncated()
    {
        var path = slides.Scratch("cut.tif");
        var bytes = File.ReadAllBytes(slides.Lzw);
        // Keep the header and first directory intact but cut the tile data of level 0 short.
        File.WriteAllBytes(path, bytes[..(bytes.Length / 4)]);

        var error = Assert.ThrowsAny<Exception>(() => SlideOpener.Open(path).Dispose());
        Assert.True(error is InvalidDataException or IOException, error.GetType().Name);
        Assert.StartsWith(path + ": ", error.Message, StringComparison.Ordinal);
        Assert.Contains("truncated", error.Message, StringComparison.Ordinal);
        Assert.Equal(1, CliApp.Create().Run(["slides", "info", path]));
    }

    [Fact]
    public void Non_tiff_with_a_tif_name_names_the_file_and_both_readers()
    {
        var path = slides.Scratch("notes.tif");
        File.WriteAllText(path, "these are not pixels\n");

        var error = Assert.Throws<SlideFormatException>(() => SlideOpener.Open(path).Dispose());
        Assert.StartsWith(path + ": cannot open the slide", error.Message, StringComparison.Ordinal);
        Assert.Contains("not a TIFF file", error.Message, StringComparison.Ordinal);
        Assert.Contains("OpenSlide", error.Message, StringComparison.Ordinal);
        Assert.Equal(1, CliApp.Create().Run(["slides", "info", path]));
        Assert.Equal(1, CliApp.Create().Run(["slides", "info", path, "--slide-reader", "tiff"]));
    }

    [Fact]
    public void Missing_file_and_unknown_reader_are_named()
    {
        var path = slides.Scratch("absent.svs");
        var error = Assert.Throws<FileNotFoundException>(() => SlideOpener.Open(path));
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => SlideOpener.ParseReader("bioformats"));
        Assert.NotEqual(0, CliApp.Create().Run(["slides", "info", slides.Lzw, "--slide-reader", "bioformats"]));
        Assert.Equal(0, CliApp.Create().Run(["slides", "info", slides.Svs]));
    }

    [Fact]
    public void Striped_tiff_is_read_strip_by_strip()
    {
        const int width = 300, height = 200, rows = 16;
        var path = slides.Scratch("striped.tif");
        var rgb = new byte[width * height * 3];
        slides.Content.Render(4, 0, 0, width, height, rgb);
        using (var tiff = Tiff.Open(path, "w"))
        {
            SetRgbFields(tiff, width, height, rows, Compression.LZW);
            for (int strip = 0; strip * rows < height; strip++)
            {
                int count = Math.Min(rows, height - strip * rows) * width * 3;
                tiff.WriteEncodedStrip(strip, rgb, strip * rows * width * 3, count);
            }
            tiff.WriteDirectory();
        }

        using var slide = TiffSlide.Open(path);
        Assert.Equal([new SlideLevel(width, height, 1)], slide.Levels);
        Assert.Equal((width, rows), slide.TileSize(0));
        var region = slide.ReadRegion(0, 50, 30, 100, 60); // crosses four strips
        for (int j = 0; j < 60; j++)
        {
            Assert.Equal(rgb.AsSpan(((30 + j) * width + 50) * 3, 300).ToArray(), region.AsSpan(j * 300, 300).ToArray());
        }
    }

    [Fact]
    public void Striped_tiff_with_strips_too_large_to_decode_is_refused_with_the_way_out()
    {
        // One strip of 20000 x 5000 RGB: 286 MiB decoded, over the 256 MiB limit; a real Deflate stream of white.
        const int width = 20_000, height = 5_000;
        var path = slides.Scratch("one-strip.tif");
        var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            var row = new byte[width * 3];
            Array.Fill(row, (byte)255);
            for (int y = 0; y < height; y++)
            {
                zlib.Write(row);
            }
        }
        using (var tiff = Tiff.Open(path, "w"))
        {
            SetRgbFields(tiff, width, height, height, Compression.ADOBE_DEFLATE);
            tiff.WriteRawStrip(0, compressed.GetBuffer(), (int)compressed.Length);
            tiff.WriteDirectory();
        }

        var error = Assert.Throws<InvalidDataException>(() => SlideOpener.Open(path).Dispose());
        Assert.StartsWith(path + ": striped (untiled) TIFF whose strips are 20000 x 5000 pixels", error.Message, StringComparison.Ordinal);
        Assert.Contains("vips tiffsave", error.Message, StringComparison.Ordinal);
        Assert.Equal(1, CliApp.Create().Run(["slides", "info", path]));
    }

    private static void SetRgbFields(Tiff tiff, int width, int height, int rowsPerStrip, Compression compression)
    {
        tiff.SetField(TiffTag.IMAGEWIDTH, width);
        tiff.SetField(TiffTag.IMAGELENGTH, height);
        tiff.SetField(TiffTag.BITSPERSAMPLE, 8);
        tiff.SetField(TiffTag.SAMPLESPERPIXEL, 3);
        tiff.SetField(TiffTag.PLANARCONFIG, PlanarConfig.CONTIG);
        tiff.SetField(TiffTag.PHOTOMETRIC, Photometric.RGB);
        tiff.SetField(TiffTag.COMPRESSION, compression);
        tiff.SetField(TiffTag.ROWSPERSTRIP, rowsPerStrip);
    }
}
