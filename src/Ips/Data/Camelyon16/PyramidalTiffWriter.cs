using System.Globalization;
using BitMiracle.LibTiff.Classic;
using Ips.IO;
using Ips.Imaging;

namespace Ips.Data.Camelyon16;

/// <summary>How the tiles of a written slide are compressed.</summary>
public enum SlideCompression
{
    /// <summary>JPEG in YCbCr with 2x2 chroma subsampling, as scanners and the CAMELYON16 files store tiles.</summary>
    Jpeg,

    /// <summary>LZW with horizontal differencing: lossless.</summary>
    Lzw,

    /// <summary>Deflate (zlib) with horizontal differencing: lossless.</summary>
    Deflate,
}

/// <summary>Layout of a slide written by <see cref="PyramidalTiffWriter"/>.</summary>
public sealed record SlideWriteOptions
{
    /// <summary>Tile width and height in pixels (a multiple of 16, as TIFF requires).</summary>
    public int TileSize { get; init; } = 256;

    /// <summary>Tile compression.</summary>
    public SlideCompression Compression { get; init; } = SlideCompression.Jpeg;

    /// <summary>JPEG quality, 1 .. 100.</summary>
    public int JpegQuality { get; init; } = 80;

    /// <summary>Downsample between consecutive levels: 2 or 4.</summary>
    public int LevelFactor { get; init; } = 2;

    /// <summary>Levels are added while the previous level's longer side exceeds this many pixels.</summary>
    public int SmallestLevelSize { get; init; } = 1024;

    /// <summary>
    /// A level is added only when both its sides are at least this many pixels (1: no limit). OpenSlide 3.4.1 on
    /// libtiff 4.5 misreads a lossless level smaller than one tile (docs/slides.md), so files meant for it set the tile size.
    /// </summary>
    public int SmallestLevelSide { get; init; } = 1;

    /// <summary>Microns per level-0 pixel, written as resolution tags (and <c>MPP</c> in an Aperio description); null for none.</summary>
    public double? MicronsPerPixel { get; init; } = 0.25;

    /// <summary>
    /// Write an Aperio SVS-style file: an <c>Aperio Image Library</c> image description carrying
    /// <c>AppMag</c> and <c>MPP</c>, a stripped thumbnail as the second directory and a stripped label at the end.
    /// </summary>
    public bool Aperio { get; init; }

    /// <summary>Objective power recorded as <c>AppMag</c> in an Aperio description.</summary>
    public double ObjectivePower { get; init; } = 40;

    /// <summary>An image description for level 0 of a file that is not <see cref="Aperio"/>; null for none.</summary>
    public string? Description { get; init; }
}

/// <summary>
/// Writes pyramidal tiled TIFF slides in the layout of the CAMELYON16 files (one tiled directory per level in the
/// main directory chain, largest first, which is what OpenSlide's generic-tiff and aperio drivers read), pulling
/// pixels tile by tile from an <see cref="ISlideContent"/>: no level is ever held in memory. Tiles that the content
/// reports as background are written from one tile encoded once, so a mostly empty 100k x 100k slide takes
/// seconds and stays small. Files larger than classic TIFF's 4 GiB reach are written as BigTIFF.
/// </summary>
public static class PyramidalTiffWriter
{
    private const string AperioHeader = "Aperio Image Library v12.0.15";
    private const int ThumbnailSize = 768;
    private const int LabelSize = 256;

    /// <summary>
    /// The size of each level (level 0 first) that <see cref="Write"/> produces for a
    /// <paramref name="width"/> x <paramref name="height"/> slide: each level divides the previous one's size by
    /// the level factor, rounding up, until the longer side is at most <see cref="SlideWriteOptions.SmallestLevelSize"/>
    /// or the next level would have a side shorter than <see cref="SlideWriteOptions.SmallestLevelSide"/>.
    /// </summary>
    public static IReadOnlyList<(long Width, long Height, long Downsample)> LevelSizes(long width, long height, SlideWriteOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var levels = new List<(long, long, long)> { (width, height, 1) };
        long downsample = 1;
        while (Math.Max(width, height) > options.SmallestLevelSize
            && Math.Min(CeilDiv(width, options.LevelFactor), CeilDiv(height, options.LevelFactor)) >= options.SmallestLevelSide)
        {
            downsample *= options.LevelFactor;
            width = CeilDiv(width, options.LevelFactor);
            height = CeilDiv(height, options.LevelFactor);
            levels.Add((width, height, downsample));
        }
        return levels;
    }

    /// <summary>
    /// Writes <paramref name="content"/> to <paramref name="path"/> atomically (a temporary file renamed at the end).
    /// <paramref name="progress"/> receives the fraction of tiles written.
    /// </summary>
    public static void Write(
        string path, ISlideContent content, SlideWriteOptions? options = null, IProgress<double>? progress = null,
        CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(content);
        options ??= new SlideWriteOptions();
        Validate(options);

        var levels = LevelSizes(content.Width, content.Height, options);
        long totalTiles = levels.Sum(l => CeilDiv(l.Width, options.TileSize) * CeilDiv(l.Height, options.TileSize));
        // Uncompressed size bounds the file: past ~3.5 GiB switch to 64-bit offsets.
        bool bigTiff = content.Width * content.Height * 3 * 4 / 3 > 3_500_000_000L;
        AtomicFile.Write(path, temp =>
        {
            TiffErrorLog.Reset();
            using var tiff = Tiff.Open(temp, bigTiff ? "w8" : "w")
                ?? throw new IOException($"{path}: cannot create the TIFF file ({TiffErrorLog.Last ?? "unknown error"})");
            var background = EncodeBackgroundTile(content, options);
            long written = 0;
            for (int level = 0; level < levels.Count; level++)
            {
                WriteLevel(tiff, path, content, options, levels, level, background, ref written, totalTiles, progress, cancellation);
                if (options.Aperio && level == 0)
                {
                    WriteThumbnail(tiff, path, content, options);
                }
            }
            if (options.Aperio)
            {
                WriteLabel(tiff, path, options);
            }
        });
    }

    private static void Validate(SlideWriteOptions options)
    {
        if (options.TileSize <= 0 || options.TileSize % 16 != 0)
        {
            throw new ArgumentException($"tile size must be a positive multiple of 16, got {options.TileSize}", nameof(options));
        }
        if (options.LevelFactor is not (2 or 4))
        {
            throw new ArgumentException($"level factor must be 2 or 4, got {options.LevelFactor}", nameof(options));
        }
        if (options.JpegQuality is < 1 or > 100)
        {
            throw new ArgumentException($"JPEG quality must be in 1 .. 100, got {options.JpegQuality}", nameof(options));
        }
        if (options.SmallestLevelSize < 1)
        {
            throw new ArgumentException($"smallest level size must be positive, got {options.SmallestLevelSize}", nameof(options));
        }
        if (options.SmallestLevelSide < 1)
        {
            throw new ArgumentException($"smallest level side must be positive, got {options.SmallestLevelSide}", nameof(options));
        }
        if (options.MicronsPerPixel is <= 0)
        {
            throw new ArgumentException($"microns per pixel must be positive, got {options.MicronsPerPixel}", nameof(options));
        }
    }

    private static void WriteLevel(
        Tiff tiff, string path, ISlideContent content, SlideWriteOptions options,
        IReadOnlyList<(long Width, long Height, long Downsample)> levels, int level, byte[] background,
        ref long written, long totalTiles, IProgress<double>? progress, CancellationToken cancellation)
    {
        var (width, height, downsample) = levels[level];
        int tile = options.TileSize;
        SetImageFields(tiff, options, width, height, downsample, level == 0 ? 0 : FileType.REDUCEDIMAGE);
        tiff.SetField(TiffTag.TILEWIDTH, tile);
        tiff.SetField(TiffTag.TILELENGTH, tile);
        if (options.Aperio)
        {
            tiff.SetField(TiffTag.IMAGEDESCRIPTION, AperioDescription(content, options, width, height, level == 0));
        }
        else if (level == 0 && options.Description is { } description)
        {
            tiff.SetField(TiffTag.IMAGEDESCRIPTION, description);
        }

        var pixels = new byte[tile * tile * 3];
        long across = CeilDiv(width, tile), down = CeilDiv(height, tile);
        double span = (double)tile * downsample;
        var encoded = new byte[across][];
        var parallel = new ParallelOptions { CancellationToken = cancellation };
        for (long ty = 0; ty < down; ty++)
        {
            // Tiles of a row are rendered and encoded in parallel, each in its own scratch TIFF, then appended in
            // order; background tiles reuse the one encoded background tile.
            Parallel.For(0, across, parallel, () => new byte[tile * tile * 3], (tx, _, buffer) =>
            {
                if (ty == 0 && tx == 0)
                {
                    return buffer;
                }
                if (content.IsBackground(tx * span, ty * span, span, span))
                {
                    encoded[tx] = background;
                    return buffer;
                }
                content.Render(downsample, tx * tile, ty * tile, tile, tile, buffer);
                encoded[tx] = EncodeTile(options, buffer);
                return buffer;
            }, _ => { });

            for (long tx = 0; tx < across; tx++)
            {
                int index = checked((int)(ty * across + tx));
                if (index == 0)
                {
                    // The first tile of a directory is encoded in place, so that the JPEG codec records there the
                    // tables that the raw tiles' abbreviated streams refer to.
                    content.Render(downsample, 0, 0, tile, tile, pixels);
                    Check(tiff.WriteEncodedTile(0, pixels, pixels.Length), path, level, 0);
                }
                else
                {
                    Check(tiff.WriteRawTile(index, encoded[tx], encoded[tx].Length), path, level, index);
                }
            }
            written += across;
            progress?.Report((double)written / totalTiles);
        }
        if (!tiff.WriteDirectory())
        {
            throw new IOException($"{path}: cannot write the directory of level {level} ({TiffErrorLog.Last ?? "unknown error"})");
        }
    }

    private static void SetImageFields(Tiff tiff, SlideWriteOptions options, long width, long height, long downsample, FileType type)
    {
        tiff.SetField(TiffTag.SUBFILETYPE, type);
        tiff.SetField(TiffTag.IMAGEWIDTH, checked((int)width));
        tiff.SetField(TiffTag.IMAGELENGTH, checked((int)height));
        tiff.SetField(TiffTag.BITSPERSAMPLE, 8);
        tiff.SetField(TiffTag.SAMPLESPERPIXEL, 3);
        tiff.SetField(TiffTag.PLANARCONFIG, PlanarConfig.CONTIG);
        tiff.SetField(TiffTag.SOFTWARE, "ips");
        if (options.MicronsPerPixel is { } mpp)
        {
            // Pixels per centimetre at this level: 10^4 microns per cm over the level's microns per pixel.
            tiff.SetField(TiffTag.RESOLUTIONUNIT, ResUnit.CENTIMETER);
            tiff.SetField(TiffTag.XRESOLUTION, 10_000.0 / (mpp * downsample));
            tiff.SetField(TiffTag.YRESOLUTION, 10_000.0 / (mpp * downsample));
        }
        switch (options.Compression)
        {
            case SlideCompression.Jpeg:
                tiff.SetField(TiffTag.COMPRESSION, Compression.JPEG);
                tiff.SetField(TiffTag.PHOTOMETRIC, Photometric.YCBCR);
                tiff.SetField(TiffTag.YCBCRSUBSAMPLING, 2, 2);
                tiff.SetField(TiffTag.JPEGQUALITY, options.JpegQuality);
                // The codec takes RGB and converts to YCbCr itself.
                tiff.SetField(TiffTag.JPEGCOLORMODE, JpegColorMode.RGB);
                break;
            case SlideCompression.Lzw:
            case SlideCompression.Deflate:
                tiff.SetField(TiffTag.COMPRESSION, options.Compression == SlideCompression.Lzw ? Compression.LZW : Compression.ADOBE_DEFLATE);
                tiff.SetField(TiffTag.PHOTOMETRIC, Photometric.RGB);
                tiff.SetField(TiffTag.PREDICTOR, Predictor.HORIZONTAL);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(options), options.Compression, "unknown compression");
        }
    }

    private static byte[] EncodeBackgroundTile(ISlideContent content, SlideWriteOptions options)
    {
        var pixels = new byte[options.TileSize * options.TileSize * 3];
        var (r, g, b) = content.Background;
        for (int i = 0; i < pixels.Length; i += 3)
        {
            pixels[i] = r;
            pixels[i + 1] = g;
            pixels[i + 2] = b;
        }
        return EncodeTile(options, pixels);
    }

    // A tile encoded alone in a scratch TIFF with the slide's settings and read back raw. For JPEG the raw tile is an
    // abbreviated stream whose tables (standard Huffman, quality-scaled quantisation) are the ones the slide's
    // directories record, so the bytes can be appended to any level.
    private static byte[] EncodeTile(SlideWriteOptions options, byte[] pixels)
    {
        int tile = options.TileSize;
        var scratch = new MemoryStream();
        using (var writer = Tiff.ClientOpen("tile", "w", scratch, new TiffStream()))
        {
            SetImageFields(writer, options with { MicronsPerPixel = null }, tile, tile, 1, 0);
            writer.SetField(TiffTag.TILEWIDTH, tile);
            writer.SetField(TiffTag.TILELENGTH, tile);
            writer.WriteEncodedTile(0, pixels, pixels.Length);
            writer.WriteDirectory();
        }

        using var reader = Tiff.ClientOpen("tile", "r", new MemoryStream(scratch.ToArray()), new TiffStream());
        var raw = new byte[reader.RawTileSize(0)];
        reader.ReadRawTile(0, raw, 0, raw.Length);
        return raw;
    }

    private static void WriteThumbnail(Tiff tiff, string path, ISlideContent content, SlideWriteOptions options)
    {
        double downsample = Math.Max(1.0, (double)Math.Max(content.Width, content.Height) / ThumbnailSize);
        int width = (int)Math.Max(1, Math.Ceiling(content.Width / downsample));
        int height = (int)Math.Max(1, Math.Ceiling(content.Height / downsample));
        tiff.SetField(TiffTag.SUBFILETYPE, FileType.REDUCEDIMAGE);
        WriteStripped(tiff, path, options, width, height,
            $"{AperioHeader}\r\n{content.Width}x{content.Height} -> {width}x{height} - ",
            (row, rows, buffer) => content.Render(downsample, 0, row, width, rows, buffer));
    }

    private static void WriteLabel(Tiff tiff, string path, SlideWriteOptions options)
    {
        // A white label with a dark bar, as a slide's barcode label looks from afar.
        tiff.SetField(TiffTag.SUBFILETYPE, FileType.REDUCEDIMAGE);
        WriteStripped(tiff, path, options, LabelSize, LabelSize, $"{AperioHeader}\nlabel {LabelSize}x{LabelSize}",
            (row, rows, buffer) =>
            {
                for (int j = 0; j < rows; j++)
                {
                    byte value = (byte)(row + j is > 96 and < 160 ? 30 : 250);
                    buffer.Slice(j * LabelSize * 3, LabelSize * 3).Fill(value);
                }
            });
    }

    private delegate void RowRenderer(long row, int rows, Span<byte> buffer);

    private static void WriteStripped(Tiff tiff, string path, SlideWriteOptions options, int width, int height, string description, RowRenderer render)
    {
        // 16 rows per strip: a whole number of JPEG MCUs for 2x2-subsampled YCbCr.
        const int rowsPerStrip = 16;
        SetImageFields(tiff, options with { MicronsPerPixel = null }, width, height, 1, FileType.REDUCEDIMAGE);
        tiff.SetField(TiffTag.ROWSPERSTRIP, rowsPerStrip);
        tiff.SetField(TiffTag.IMAGEDESCRIPTION, description);
        var buffer = new byte[width * rowsPerStrip * 3];
        for (int strip = 0; strip * rowsPerStrip < height; strip++)
        {
            int rows = Math.Min(rowsPerStrip, height - strip * rowsPerStrip);
            render(strip * rowsPerStrip, rows, buffer);
            if (tiff.WriteEncodedStrip(strip, buffer, width * rows * 3) < 0)
            {
                throw new IOException($"{path}: cannot write strip {strip} of '{description}' ({TiffErrorLog.Last ?? "unknown error"})");
            }
        }
        if (!tiff.WriteDirectory())
        {
            throw new IOException($"{path}: cannot write the directory of '{description}' ({TiffErrorLog.Last ?? "unknown error"})");
        }
    }

    private static string AperioDescription(ISlideContent content, SlideWriteOptions options, long width, long height, bool first)
    {
        string codec = options.Compression switch
        {
            SlideCompression.Jpeg => $"JPEG/RGB Q={options.JpegQuality}",
            SlideCompression.Lzw => "LZW/RGB",
            _ => "Deflate/RGB",
        };
        string size = first
            ? $"{content.Width}x{content.Height} [0,0 {content.Width}x{content.Height}] ({options.TileSize}x{options.TileSize}) {codec}"
            : $"{content.Width}x{content.Height} [0,0 {content.Width}x{content.Height}] ({options.TileSize}x{options.TileSize}) -> {width}x{height} {codec}";
        var fields = new List<string> { $"{AperioHeader}\r\n{size}", $"AppMag = {options.ObjectivePower.ToString(CultureInfo.InvariantCulture)}" };
        if (options.MicronsPerPixel is { } mpp)
        {
            fields.Add($"MPP = {mpp.ToString(CultureInfo.InvariantCulture)}");
        }
        fields.Add("ScanScope ID = IPS-SYNTHETIC");
        return string.Join("|", fields);
    }

    private static void Check(int result, string path, int level, int tile)
    {
        if (result < 0)
        {
            throw new IOException($"{path}: cannot write tile {tile} of level {level} ({TiffErrorLog.Last ?? "unknown error"})");
        }
    }

    private static long CeilDiv(long value, long divisor) => (value + divisor - 1) / divisor;
}
