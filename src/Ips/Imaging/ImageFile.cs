using System.Runtime.InteropServices;
using BitMiracle.LibTiff.Classic;
using SkiaSharp;
using static TorchSharp.torch;

namespace Ips.Imaging;

/// <summary>
/// Decodes PNG, JPEG and BMP (SkiaSharp) and TIFF (LibTiff.NET, strips or tiles, 8 or 16 bits per sample) into float32
/// <c>[C, H, W]</c> tensors in <c>[0, 1]</c>, and writes tensors back as PNG.
/// </summary>
public static class ImageFile
{
    private const string Supported = "PNG (.png), JPEG (.jpg, .jpeg), BMP (.bmp) and 8- or 16-bit grey/RGB/RGBA TIFF (.tif, .tiff)";

    /// <summary>The file extensions <see cref="Load"/> decodes, lower case with the dot.</summary>
    public static readonly IReadOnlySet<string> Extensions = new HashSet<string>([".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"]);

    /// <summary>
    /// The most pixels an image file may have: 2^26 (8192 x 8192), well above the data sets' images (1500 x 1500
    /// megapixel MNIST canvases, traffic photos resized to 1600 x 1200) and small enough that decoding one stays within the
    /// 512 MiB of docs/reliability.md whatever its header claims.
    /// </summary>
    public const long MaxPixels = 1L << 26;

    /// <summary>
    /// The most pixels one byte of a file can hold, compressed: 4096, above what any supported codec reaches (deflate
    /// in PNG and TIFF expands at most 1032 times, TIFF's LZW about 1400 times on constant data, a JPEG block of 64
    /// pixels takes at least a few bits). A header claiming more is damaged, and is refused before the decoders
    /// allocate the full image (found by fuzzing: 26 million pixels claimed by a 200-byte TIFF).
    /// </summary>
    public const long MaxPixelsPerByte = 4096;

    /// <summary>
    /// The image at <paramref name="path"/> as float32 <c>[channels, H, W]</c> in <c>[0, 1]</c>: one channel gives grey
    /// (the file's grey channel, or luma 0.299 R + 0.587 G + 0.114 B of a colour file), three give RGB. Alpha is
    /// dropped. Throws <see cref="InvalidDataException"/> naming the file when it is not a supported image.
    /// </summary>
    public static Tensor Load(string path, int channels)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (channels is not (1 or 3))
        {
            throw new ArgumentException($"{path}: channels must be 1 (grey) or 3 (RGB), got {channels}", nameof(channels));
        }

        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{path}: image file not found", path);
        }

        string extension = Path.GetExtension(path).ToLowerInvariant();
        if (extension is ".tif" or ".tiff" && TiffErrorLog.Guard(path, () => Tiff16(path, channels)) is { } deep)
        {
            return deep;
        }
        var (pixels, height, width, sourceChannels) = extension switch
        {
            ".png" or ".jpg" or ".jpeg" or ".bmp" => DecodeWithSkia(path, channels),
            ".tif" or ".tiff" => TiffErrorLog.Guard(path, () => DecodeTiff(path, channels)),
            _ => throw new InvalidDataException($"{path}: unknown image extension '{extension}'; supported are {Supported}"),
        };
        return ToTensor(pixels, height, width, sourceChannels, channels);
    }

    /// <summary>
    /// What the header of the image at <paramref name="path"/> says, without decoding its pixels: width, height,
    /// colour channels (1 grey, 3 colour; alpha not counted) and bits per sample.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is not an image of a supported format.</exception>
    public static (int Width, int Height, int Channels, int Bits) Describe(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string extension = Path.GetExtension(path).ToLowerInvariant();
        if (extension is ".tif" or ".tiff")
        {
            TiffErrorLog.Reset();
            using var tiff = Tiff.Open(path, "r")
                ?? throw new InvalidDataException($"{path}: cannot decode the file as a TIFF ({TiffErrorLog.Last ?? "unreadable"}); supported are {Supported}");
            int samples = tiff.GetField(TiffTag.SAMPLESPERPIXEL)?[0].ToInt() ?? 1;
            return (tiff.GetField(TiffTag.IMAGEWIDTH)[0].ToInt(), tiff.GetField(TiffTag.IMAGELENGTH)[0].ToInt(),
                samples < 3 ? 1 : 3, tiff.GetField(TiffTag.BITSPERSAMPLE)?[0].ToInt() ?? 1);
        }
        if (extension is not (".png" or ".jpg" or ".jpeg" or ".bmp"))
        {
            throw new InvalidDataException($"{path}: unknown image extension '{extension}'; supported are {Supported}");
        }
        using var codec = SKCodec.Create(path, out var result)
            ?? throw new InvalidDataException($"{path}: cannot decode the file as an image ({result}); supported are {Supported}");
        var grey = codec.Info.ColorType is SKColorType.Gray8 or SKColorType.Alpha8;
        var bits = codec.Info.ColorType is SKColorType.Rgba16161616 or SKColorType.RgbaF16 or SKColorType.Alpha16 or SKColorType.Rg1616 ? 16 : 8;
        return (codec.Info.Width, codec.Info.Height, grey ? 1 : 3, bits);
    }

    /// <summary>Writes a grey image <c>[1, H, W]</c> or <c>[H, W]</c> with values in <c>[0, 1]</c> as a PNG.</summary>
    public static void SaveGray(Tensor image, string path)
    {
        ArgumentNullException.ThrowIfNull(image);
        using var grey = image.dim() == 2 ? image.unsqueeze(0) : image.alias();
        if (grey.dim() != 3 || grey.shape[0] != 1)
        {
            throw new ArgumentException($"{path}: expected a grey image [1, H, W], got [{string.Join(", ", image.shape)}]", nameof(image));
        }

        using var bitmap = ToBitmap(grey);
        WritePng(bitmap, path);
    }

    /// <summary>Writes an RGB image <c>[3, H, W]</c> with values in <c>[0, 1]</c> as a PNG.</summary>
    public static void SaveRgb(Tensor image, string path)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (image.dim() != 3 || image.shape[0] != 3)
        {
            throw new ArgumentException($"{path}: expected an RGB image [3, H, W], got [{string.Join(", ", image.shape)}]", nameof(image));
        }

        using var bitmap = ToBitmap(image);
        WritePng(bitmap, path);
    }

    /// <summary>An image <c>[1 or 3, H, W]</c> in <c>[0, 1]</c> as an 8-bit bitmap: Gray8 for one channel, opaque RGBA for three.</summary>
    internal static unsafe SKBitmap ToBitmap(Tensor image)
    {
        using var scope = NewDisposeScope();
        int channels = (int)image.shape[0], height = (int)image.shape[1], width = (int)image.shape[2];
        var bytes = image.detach().to(CPU).to(ScalarType.Float32).clamp(0, 1).mul(255).round().to(ScalarType.Byte); // [C, H, W]
        if (channels == 3)
        {
            var opaque = full([1, height, width], 255, dtype: ScalarType.Byte);
            bytes = cat([bytes, opaque], 0); // [4, H, W]
        }

        var interleaved = bytes.permute(1, 2, 0).contiguous(); // [H, W, C]
        var info = new SKImageInfo(width, height, channels == 1 ? SKColorType.Gray8 : SKColorType.Rgba8888, SKAlphaType.Opaque);
        var bitmap = new SKBitmap(info);
        int rowBytes = width * (channels == 1 ? 1 : 4);
        var source = interleaved.bytes;
        for (int y = 0; y < height; y++)
        {
            source.Slice(y * rowBytes, rowBytes).CopyTo(new Span<byte>((byte*)bitmap.GetPixels() + (long)y * bitmap.RowBytes, rowBytes));
        }

        return bitmap;
    }

    /// <summary>Encodes <paramref name="bitmap"/> losslessly to <paramref name="path"/>.</summary>
    internal static void WritePng(SKBitmap bitmap, string path)
    {
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100)
            ?? throw new IOException($"{path}: PNG encoding failed");
        using var stream = File.Create(path);
        data.SaveTo(stream);
    }

    // Interleaved 8-bit samples [H, W, S] -> float [channels, H, W].
    private static Tensor ToTensor(byte[] pixels, int height, int width, int sourceChannels, int channels)
    {
        using var scope = NewDisposeScope();
        var planes = tensor(pixels, [height, width, sourceChannels]).permute(2, 0, 1).to(ScalarType.Float32).div(255); // [S, H, W]
        Tensor result;
        if (channels == sourceChannels)
        {
            result = planes.contiguous();
        }
        else if (channels == 1)
        {
            var luma = tensor(new[] { 0.299f, 0.587f, 0.114f }).reshape(3, 1, 1);
            result = planes.mul(luma).sum(0, keepdim: true); // [1, H, W]
        }
        else
        {
            result = planes.expand(3, height, width).contiguous(); // [3, H, W]
        }

        return result.MoveToOuterDisposeScope();
    }

    // The size comes from the file's header and decides every buffer below: checked before any is allocated.
    private static void CheckSize(string path, string format, int width, int height)
    {
        if (width <= 0 || height <= 0 || (long)width * height > MaxPixels)
        {
            throw new InvalidDataException(
                $"{path}: the {format} header gives a size of {width} x {height} pixels; images must have between 1 and {MaxPixels} pixels " +
                "(larger images are read as tiled TIFF slides)");
        }
        long bytes = new FileInfo(path).Length;
        if ((long)width * height > bytes * MaxPixelsPerByte)
        {
            throw new InvalidDataException(
                $"{path}: the {format} header gives a size of {width} x {height} pixels, more than a file of {bytes} bytes can hold (at most {MaxPixelsPerByte} pixels per byte, compressed)");
        }
    }

    private static (byte[] Pixels, int Height, int Width, int Channels) DecodeWithSkia(string path, int channels)
    {
        using var codec = SKCodec.Create(path, out var result)
            ?? throw new InvalidDataException($"{path}: cannot decode the file as an image ({result}); supported are {Supported}");
        var info = codec.Info;
        CheckSize(path, codec.EncodedFormat.ToString().ToUpperInvariant(), info.Width, info.Height);
        // A grey file asked for grey decodes its own channel; anything else decodes to RGBA and keeps RGB.
        bool grey = channels == 1 && info.ColorType == SKColorType.Gray8;
        var target = new SKImageInfo(info.Width, info.Height, grey ? SKColorType.Gray8 : SKColorType.Rgba8888, SKAlphaType.Unpremul);
        using var bitmap = new SKBitmap(target);
        // GetPixels, unlike SKBitmap.Decode, says when the data ran out: Skia then fills the missing rows and reports
        // IncompleteInput, which must not pass as an image whose lower part is black.
        var decoded = codec.GetPixels(target, bitmap.GetPixels());
        if (decoded != SKCodecResult.Success)
        {
            throw new InvalidDataException(decoded is SKCodecResult.IncompleteInput or SKCodecResult.ErrorInInput
                ? $"{path}: the {codec.EncodedFormat} file is truncated or damaged ({decoded}): its {info.Width} x {info.Height} pixels could not all be decoded"
                : $"{path}: cannot decode the {codec.EncodedFormat} image ({decoded}); supported are {Supported}");
        }

        int width = bitmap.Width, height = bitmap.Height, sourceBytes = grey ? 1 : 4, kept = grey ? 1 : 3;
        var row = new byte[bitmap.RowBytes];
        var pixels = new byte[(long)width * height * kept];
        for (int y = 0; y < height; y++)
        {
            Marshal.Copy(bitmap.GetPixels() + y * bitmap.RowBytes, row, 0, row.Length);
            for (int x = 0; x < width; x++)
            {
                for (int c = 0; c < kept; c++)
                {
                    pixels[((long)y * width + x) * kept + c] = row[x * sourceBytes + c];
                }
            }
        }

        return (pixels, height, width, kept);
    }

    /// <summary>
    /// A 16-bit TIFF (grey, RGB or RGBA, interleaved samples, strips or tiles) as float32 <c>[channels, H, W]</c> with
    /// all 16 bits kept (value / 65535); null for a TIFF of another depth, which <see cref="DecodeTiff"/> reads.
    /// LibTiff's RGBA interface would cut the samples to 8 bits, so the samples are read as they are stored.
    /// </summary>
    private static Tensor? Tiff16(string path, int channels)
    {
        // As DecodeTiff: the structure is checked before LibTiff.NET allocates from its numbers.
        TiffStructure.Check(path);
        TiffErrorLog.Reset();
        using var tiff = Tiff.Open(path, "r")
            ?? throw new InvalidDataException($"{path}: cannot decode the file as a TIFF ({TiffErrorLog.Last ?? "unreadable"}); supported are {Supported}");
        if ((tiff.GetField(TiffTag.BITSPERSAMPLE)?[0].ToInt() ?? 1) != 16)
        {
            return null;
        }
        int width = tiff.GetField(TiffTag.IMAGEWIDTH)?[0].ToInt() ?? 0;
        int height = tiff.GetField(TiffTag.IMAGELENGTH)?[0].ToInt() ?? 0;
        CheckSize(path, "TIFF", width, height);
        int samples = tiff.GetField(TiffTag.SAMPLESPERPIXEL)?[0].ToInt() ?? 1;
        var planar = tiff.GetField(TiffTag.PLANARCONFIG)?[0].ToInt() ?? (int)PlanarConfig.CONTIG;
        if (samples is not (1 or 3 or 4) || planar != (int)PlanarConfig.CONTIG)
        {
            throw new InvalidDataException(
                $"{path}: 16-bit TIFF with {samples} samples per pixel{(planar != (int)PlanarConfig.CONTIG ? " in separate planes" : "")} is not supported; supported are {Supported}");
        }
        var values = new ushort[(long)width * height * samples];
        void Fail() => throw new InvalidDataException($"{path}: the TIFF file is truncated or damaged: its {width} x {height} pixels could not all be decoded ({TiffErrorLog.Last ?? "unknown error"})");
        if (tiff.IsTiled())
        {
            int tileWidth = tiff.GetField(TiffTag.TILEWIDTH)?[0].ToInt() ?? 0, tileHeight = tiff.GetField(TiffTag.TILELENGTH)?[0].ToInt() ?? 0;
            // A tile never needs to be larger than the image, whose size is checked above.
            if (tileWidth <= 0 || tileHeight <= 0 || (long)tileWidth * tileHeight > MaxPixels)
            {
                throw new InvalidDataException($"{path}: the TIFF header gives tiles of {tileWidth} x {tileHeight} pixels; tiles must have between 1 and {MaxPixels} pixels");
            }
            var tile = new byte[tiff.TileSize()];
            for (int y0 = 0; y0 < height; y0 += tileHeight)
            {
                for (int x0 = 0; x0 < width; x0 += tileWidth)
                {
                    if (tiff.ReadTile(tile, 0, x0, y0, 0, 0) < 0 || TiffErrorLog.Last is not null) Fail();
                    for (int y = 0; y < tileHeight && y0 + y < height; y++)
                    {
                        int columns = Math.Min(tileWidth, width - x0) * samples;
                        Buffer.BlockCopy(tile, y * tileWidth * samples * 2, values, (int)((((long)(y0 + y) * width) + x0) * samples * 2), columns * 2);
                    }
                }
            }
        }
        else
        {
            var row = new byte[tiff.ScanlineSize()];
            for (int y = 0; y < height; y++)
            {
                if (!tiff.ReadScanline(row, y) || TiffErrorLog.Last is not null) Fail();
                Buffer.BlockCopy(row, 0, values, (int)((long)y * width * samples * 2), width * samples * 2);
            }
        }
        using var scope = NewDisposeScope();
        var planes = tensor(values.Select(v => v / 65535f).ToArray(), [height, width, samples]).permute(2, 0, 1); // [S, H, W]
        var colour = samples == 1 ? planes : planes.narrow(0, 0, 3);
        Tensor result = (channels, samples) switch
        {
            (1, 1) => colour.contiguous(),
            (1, _) => colour.mul(tensor(new[] { 0.299f, 0.587f, 0.114f }).reshape(3, 1, 1)).sum(0, keepdim: true), // [1, H, W]
            (_, 1) => colour.expand(3, height, width).contiguous(),
            _ => colour.contiguous(),
        };
        return result.MoveToOuterDisposeScope();
    }

    private static (byte[] Pixels, int Height, int Width, int Channels) DecodeTiff(string path, int channels)
    {
        TiffStructure.Check(path);
        TiffErrorLog.Reset();
        using var tiff = Tiff.Open(path, "r")
            ?? throw new InvalidDataException($"{path}: cannot decode the file as a TIFF ({TiffErrorLog.Last ?? "unreadable"}); supported are {Supported}");
        int width = tiff.GetField(TiffTag.IMAGEWIDTH)?[0].ToInt() ?? 0;
        int height = tiff.GetField(TiffTag.IMAGELENGTH)?[0].ToInt() ?? 0;
        CheckSize(path, "TIFF", width, height);
        int bits = tiff.GetField(TiffTag.BITSPERSAMPLE)?[0].ToInt() ?? 1;
        int samples = tiff.GetField(TiffTag.SAMPLESPERPIXEL)?[0].ToInt() ?? 1;
        if (bits != 8 || samples is not (1 or 3 or 4))
        {
            throw new InvalidDataException(
                $"{path}: TIFF with {samples} samples of {bits} bits per pixel is not supported; supported are {Supported}");
        }

        // ReadRGBAImageOriented handles strips and tiles alike and expands grey to R = G = B.
        var raster = new int[(long)width * height];
        // stopOnError: a strip or tile cut short by a truncated file is an error rather than rows left at zero.
        if (!tiff.ReadRGBAImageOriented(width, height, raster, Orientation.TOPLEFT, stopOnError: true) || TiffErrorLog.Last is not null)
        {
            throw new InvalidDataException($"{path}: the TIFF file is truncated or damaged: its {width} x {height} pixels could not all be decoded ({TiffErrorLog.Last ?? "unknown error"})");
        }

        int kept = channels == 1 && samples == 1 ? 1 : 3;
        var pixels = new byte[raster.LongLength * kept];
        for (long i = 0; i < raster.LongLength; i++)
        {
            int abgr = raster[i];
            pixels[i * kept] = (byte)Tiff.GetR(abgr);
            if (kept == 3)
            {
                pixels[i * kept + 1] = (byte)Tiff.GetG(abgr);
                pixels[i * kept + 2] = (byte)Tiff.GetB(abgr);
            }
        }

        return (pixels, height, width, kept);
    }
}
