using BitMiracle.LibTiff.Classic;
using Ips.Imaging;
using SkiaSharp;

namespace Ips.Tests.Imaging;

/// <summary>A file cut short is an error naming it, never an image whose missing part decodes as black.</summary>
public sealed class TruncatedImageTests : IDisposable
{
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    // A noisy 64 x 64 image, so that the compressed file is long enough to cut in the middle of its pixel data.
    private string WriteSkia(string name, SKEncodedImageFormat format)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(64, 64, SKColorType.Rgba8888, SKAlphaType.Opaque));
        var random = new Random(7);
        for (int y = 0; y < 64; y++)
        {
            for (int x = 0; x < 64; x++)
            {
                bitmap.SetPixel(x, y, new SKColor((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256)));
            }
        }
        var path = _files.File(name);
        using var data = bitmap.Encode(format, 90);
        File.WriteAllBytes(path, data.ToArray());
        return path;
    }

    private static void Truncate(string path, double fraction)
    {
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(int)(bytes.Length * fraction)]);
    }

    [Theory]
    [InlineData("cut.png", SKEncodedImageFormat.Png)]
    [InlineData("cut.jpg", SKEncodedImageFormat.Jpeg)]
    public void A_truncated_png_or_jpeg_is_refused_naming_the_file(string name, SKEncodedImageFormat format)
    {
        var path = WriteSkia(name, format);
        using (var whole = ImageFile.Load(path, 3))
        {
            Assert.Equal([3L, 64, 64], whole.shape);
        }
        Truncate(path, 0.45);

        var error = Assert.Throws<InvalidDataException>(() => ImageFile.Load(path, 3));
        Assert.StartsWith(path + ": the ", error.Message);
        Assert.Contains("truncated or damaged", error.Message);
    }

    [Fact]
    public void A_truncated_strip_tiff_is_refused_naming_the_file()
    {
        var path = _files.File("cut.tif");
        using (var tiff = Tiff.Open(path, "w"))
        {
            tiff.SetField(TiffTag.IMAGEWIDTH, 64);
            tiff.SetField(TiffTag.IMAGELENGTH, 64);
            tiff.SetField(TiffTag.SAMPLESPERPIXEL, 1);
            tiff.SetField(TiffTag.BITSPERSAMPLE, 8);
            tiff.SetField(TiffTag.PHOTOMETRIC, Photometric.MINISBLACK);
            tiff.SetField(TiffTag.PLANARCONFIG, PlanarConfig.CONTIG);
            tiff.SetField(TiffTag.COMPRESSION, Compression.NONE);
            tiff.SetField(TiffTag.ROWSPERSTRIP, 8);
            for (int y = 0; y < 64; y++)
            {
                Assert.True(tiff.WriteScanline(Enumerable.Repeat((byte)200, 64).ToArray(), y));
            }
        }
        // LibTiff writes the directory after the pixels, so a plain cut loses the directory (also an error). A copy
        // cut inside its pixel data with the directory kept is what a directory-first writer leaves: point the last
        // strip past the end of the file.
        var bytes = File.ReadAllBytes(path);
        var ifd = BitConverter.ToInt32(bytes, 4);
        var entries = BitConverter.ToUInt16(bytes, ifd);
        var found = false;
        for (var i = 0; i < entries; i++)
        {
            var entry = ifd + 2 + 12 * i;
            if (BitConverter.ToUInt16(bytes, entry) == (ushort)TiffTag.STRIPOFFSETS)
            {
                Assert.Equal(8, BitConverter.ToInt32(bytes, entry + 4));
                var array = BitConverter.ToInt32(bytes, entry + 8);
                BitConverter.GetBytes(bytes.Length + 4096).CopyTo(bytes, array + 4 * 7);
                found = true;
            }
        }
        Assert.True(found, "StripOffsets not found");
        File.WriteAllBytes(path, bytes);

        var error = Assert.Throws<InvalidDataException>(() => ImageFile.Load(path, 1));
        Assert.StartsWith(path + ": the TIFF file is truncated or damaged", error.Message);
    }
}
