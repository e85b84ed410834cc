using BitMiracle.LibTiff.Classic;
using Ips.Imaging;
using SkiaSharp;
using static TorchSharp.torch;

namespace Ips.Tests.Imaging;

public sealed class ImageFileTests : IDisposable
{
    private const int Width = 5, Height = 3;
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    // Distinct 8-bit values per pixel and channel.
    private static byte Value(int y, int x, int c) => (byte)(y * 60 + x * 11 + c * 70);

    private static float[] Expected(int channels) =>
        [.. from c in Enumerable.Range(0, channels) from y in Enumerable.Range(0, Height) from x in Enumerable.Range(0, Width)
            select Value(y, x, c) / 255f];

    private static float[] Luma() =>
        [.. from y in Enumerable.Range(0, Height) from x in Enumerable.Range(0, Width)
            select (0.299f * Value(y, x, 0) + 0.587f * Value(y, x, 1) + 0.114f * Value(y, x, 2)) / 255f];

    private string WriteSkia(string name, bool grey, SKEncodedImageFormat format, int quality, int width = Width, int height = Height)
    {
        var info = new SKImageInfo(width, height, grey ? SKColorType.Gray8 : SKColorType.Rgba8888, SKAlphaType.Opaque);
        using var bitmap = new SKBitmap(info);
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                bitmap.SetPixel(x, y, grey
                    ? new SKColor(Value(y, x, 0), Value(y, x, 0), Value(y, x, 0))
                    : new SKColor(Value(y, x, 0), Value(y, x, 1), Value(y, x, 2)));
            }
        }

        string path = _files.File(name);
        using var data = bitmap.Encode(format, quality);
        File.WriteAllBytes(path, data.ToArray());
        return path;
    }

    [Fact]
    public void An_rgb_png_loads_exactly_as_rgb_and_as_luma()
    {
        string path = WriteSkia("rgb.png", grey: false, SKEncodedImageFormat.Png, 100);

        using var rgb = ImageFile.Load(path, 3);
        Assert.Equal(new long[] { 3, Height, Width }, rgb.shape);
        Assert.Equal(ScalarType.Float32, rgb.dtype);
        Assert.Equal(Expected(3), rgb.data<float>().ToArray());

        using var grey = ImageFile.Load(path, 1);
        Assert.Equal(new long[] { 1, Height, Width }, grey.shape);
        Assert.Equal(Luma(), grey.data<float>().ToArray(), (a, b) => Math.Abs(a - b) < 1e-6);
    }

    [Fact]
    public void A_grey_png_loads_exactly_as_grey_and_repeated_as_rgb()
    {
        string path = WriteSkia("grey.png", grey: true, SKEncodedImageFormat.Png, 100);

        using var grey = ImageFile.Load(path, 1);
        Assert.Equal(Expected(1), grey.data<float>().ToArray());

        using var rgb = ImageFile.Load(path, 3);
        Assert.Equal([.. Expected(1), .. Expected(1), .. Expected(1)], rgb.data<float>().ToArray());
    }

    [Fact]
    public void SaveGray_and_SaveRgb_round_trip()
    {
        using var scope = NewDisposeScope();
        var grey = tensor(Expected(1)).reshape(1, Height, Width);
        var rgb = tensor(Expected(3)).reshape(3, Height, Width);
        ImageFile.SaveGray(grey, _files.File("g.png"));
        ImageFile.SaveRgb(rgb, _files.File("c.png"));

        Assert.Equal(Expected(1), ImageFile.Load(_files.File("g.png"), 1).data<float>().ToArray());
        Assert.Equal(Expected(3), ImageFile.Load(_files.File("c.png"), 3).data<float>().ToArray());
    }

    [Fact]
    public void A_jpeg_loads_approximately()
    {
        const int size = 32;
        string path = _files.File("smooth.jpg");
        using (var bitmap = new SKBitmap(new SKImageInfo(size, size, SKColorType.Rgba8888, SKAlphaType.Opaque)))
        {
            for (int y = 0; y < size; y++)
            {
                for (int x = 0; x < size; x++)
                {
                    bitmap.SetPixel(x, y, new SKColor((byte)(x * 8), (byte)(y * 8), 128));
                }
            }

            using var data = bitmap.Encode(SKEncodedImageFormat.Jpeg, 95);
            File.WriteAllBytes(path, data.ToArray());
        }

        using var image = ImageFile.Load(path, 3);
        Assert.Equal(new long[] { 3, size, size }, image.shape);
        Assert.Equal(8 * 20 / 255f, image[0, 5, 20].item<float>(), 0.05f);
        Assert.Equal(8 * 5 / 255f, image[1, 5, 20].item<float>(), 0.05f);
        Assert.Equal(128 / 255f, image[2, 5, 20].item<float>(), 0.05f);
    }

    [Fact]
    public void A_grey_strip_tiff_loads_exactly()
    {
        string path = _files.File("grey.tif");
        using (var tiff = Tiff.Open(path, "w"))
        {
            SetCommonTags(tiff, samples: 1, Photometric.MINISBLACK);
            tiff.SetField(TiffTag.ROWSPERSTRIP, 2);
            for (int y = 0; y < Height; y++)
            {
                var row = Enumerable.Range(0, Width).Select(x => Value(y, x, 0)).ToArray();
                Assert.True(tiff.WriteScanline(row, y));
            }
        }

        using var grey = ImageFile.Load(path, 1);
        Assert.Equal(Expected(1), grey.data<float>().ToArray());
    }

    [Fact]
    public void An_rgb_tiled_tiff_loads_exactly()
    {
        // Tiles are at least 16 x 16, so the image spans two tiles across and is cut at its edges.
        const int width = 20, height = 18;
        static byte V(int y, int x, int c) => (byte)((y * 13 + x * 7 + c * 50) % 256);
        string path = _files.File("rgb.tiff");
        using (var tiff = Tiff.Open(path, "w"))
        {
            tiff.SetField(TiffTag.IMAGEWIDTH, width);
            tiff.SetField(TiffTag.IMAGELENGTH, height);
            tiff.SetField(TiffTag.SAMPLESPERPIXEL, 3);
            tiff.SetField(TiffTag.BITSPERSAMPLE, 8);
            tiff.SetField(TiffTag.PHOTOMETRIC, Photometric.RGB);
            tiff.SetField(TiffTag.PLANARCONFIG, PlanarConfig.CONTIG);
            tiff.SetField(TiffTag.COMPRESSION, Compression.NONE);
            tiff.SetField(TiffTag.TILEWIDTH, 16);
            tiff.SetField(TiffTag.TILELENGTH, 16);
            for (int ty = 0; ty < height; ty += 16)
            {
                for (int tx = 0; tx < width; tx += 16)
                {
                    var tile = new byte[16 * 16 * 3];
                    for (int y = 0; y < 16; y++)
                    {
                        for (int x = 0; x < 16; x++)
                        {
                            for (int c = 0; c < 3; c++)
                            {
                                tile[(y * 16 + x) * 3 + c] = V(ty + y, tx + x, c);
                            }
                        }
                    }

                    Assert.True(tiff.WriteTile(tile, tx, ty, 0, 0) > 0);
                }
            }
        }

        using var rgb = ImageFile.Load(path, 3);
        Assert.Equal(new long[] { 3, height, width }, rgb.shape);
        float[] expected = [.. from c in Enumerable.Range(0, 3) from y in Enumerable.Range(0, height) from x in Enumerable.Range(0, width)
            select V(y, x, c) / 255f];
        Assert.Equal(expected, rgb.data<float>().ToArray());
    }

    [Fact]
    public void A_32_bit_tiff_is_refused_naming_the_file()
    {
        // 8 and 16 bits per sample are read (16-bit: tests/Ips.Tests/Data/OwnImages); 32-bit samples are not.
        string path = _files.File("deep.tif");
        using (var tiff = Tiff.Open(path, "w"))
        {
            SetCommonTags(tiff, samples: 1, Photometric.MINISBLACK, bits: 32);
            Assert.True(tiff.WriteScanline(new byte[Width * 4], 0));
        }

        var error = Assert.Throws<InvalidDataException>(() => ImageFile.Load(path, 1));
        Assert.StartsWith(path + ":", error.Message, StringComparison.Ordinal);
        Assert.Contains("32 bits", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("notes.png")]
    [InlineData("notes.jpg")]
    [InlineData("notes.tif")]
    [InlineData("notes.bmp")]
    public void A_file_that_is_not_a_supported_image_is_refused_naming_it(string name)
    {
        string path = _files.File(name);
        File.WriteAllText(path, "these are notes, not pixels");

        var error = Assert.Throws<InvalidDataException>(() => ImageFile.Load(path, 1));
        Assert.StartsWith(path + ":", error.Message, StringComparison.Ordinal);
        Assert.Contains("PNG (.png), JPEG (.jpg, .jpeg)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Two_channels_are_refused()
    {
        var error = Assert.Throws<ArgumentException>(() => ImageFile.Load("x.png", 2));
        Assert.Contains("channels must be 1 (grey) or 3 (RGB), got 2", error.Message, StringComparison.Ordinal);
    }

    private static void SetCommonTags(Tiff tiff, int samples, Photometric photometric, int bits = 8)
    {
        tiff.SetField(TiffTag.IMAGEWIDTH, Width);
        tiff.SetField(TiffTag.IMAGELENGTH, Height);
        tiff.SetField(TiffTag.SAMPLESPERPIXEL, samples);
        tiff.SetField(TiffTag.BITSPERSAMPLE, bits);
        tiff.SetField(TiffTag.PHOTOMETRIC, photometric);
        tiff.SetField(TiffTag.PLANARCONFIG, PlanarConfig.CONTIG);
        tiff.SetField(TiffTag.COMPRESSION, Compression.NONE);
        tiff.SetField(TiffTag.ORIENTATION, Orientation.TOPLEFT);
    }
}
