using System.Collections.Concurrent;
using System.Globalization;
using BitMiracle.LibTiff.Classic;
using Ips.Imaging;

namespace Ips.Slides;

/// <summary>Settings of the managed TIFF slide reader.</summary>
public sealed record TiffSlideOptions
{
    /// <summary>
    /// Bytes of decoded tiles kept for reuse (least recently used dropped first). The default, 16 MiB (about 85 tiles
    /// of 256 x 256), holds the tiles that neighbouring reads share; it is a fixed cost that small slides may not
    /// reach and large ones always do, so it is kept small: 64 MiB made a 40k x 40k slide's peak 30 % above a 10k one's
    /// (<c>ips bench --parts slides</c>) while saving no measurable time.
    /// </summary>
    public long CacheBytes { get; init; } = 16L * 1024 * 1024;

    /// <summary>
    /// The largest decoded strip of a striped (untiled) TIFF this reader decodes at once. A striped file whose
    /// strips are larger (typically one strip holding the whole image) is refused when opened.
    /// </summary>
    public long MaxStripBytes { get; init; } = 256L * 1024 * 1024;
}

/// <summary>
/// A managed reader (LibTiff.NET, no native library) for tiled pyramidal TIFF slides (one tiled directory per level,
/// as CAMELYON16 and vips write them; JPEG incl. YCbCr with shared tables, LZW, Deflate, uncompressed), Aperio SVS
/// files (levels are the tiled directories; the stripped thumbnail, label and macro are skipped; MPP and AppMag come
/// from the image description), and striped TIFF read strip by strip. Properties use OpenSlide's names. Regions are
/// assembled from decoded tiles kept in a bounded LRU cache; reading is safe from several threads (each thread
/// borrows its own LibTiff handle, as a LibTiff handle is not thread-safe).
/// </summary>
public sealed class TiffSlide : ISlide
{
    private readonly Level[] _levels;
    private readonly ConcurrentBag<Handle> _idle = [];
    private readonly TileCache _cache;
    private readonly Dictionary<string, string> _properties;
    private volatile bool _disposed;

    private TiffSlide(string path, Level[] levels, string vendor, Dictionary<string, string> properties, (double, double)? mpp, double? power, TiffSlideOptions options)
    {
        Path = path;
        _levels = levels;
        Vendor = vendor;
        _properties = properties;
        MicronsPerPixel = mpp;
        ObjectivePower = power;
        _cache = new TileCache(options.CacheBytes);
        Levels = levels.Select(l => new SlideLevel(l.Width, l.Height, l.Downsample)).ToArray();
    }

    /// <inheritdoc />
    public string Path { get; }

    /// <inheritdoc />
    public string Reader => "tiff";

    /// <inheritdoc />
    public IReadOnlyList<SlideLevel> Levels { get; }

    /// <inheritdoc />
    public (double X, double Y)? MicronsPerPixel { get; }

    /// <inheritdoc />
    public double? ObjectivePower { get; }

    /// <inheritdoc />
    public string Vendor { get; }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, string> Properties => _properties;

    /// <summary>Tile width and height of <paramref name="level"/> (for a striped level: the width and rows per strip).</summary>
    public (int Width, int Height) TileSize(int level)
    {
        CheckLevel(level);
        return (_levels[level].TileWidth, _levels[level].TileHeight);
    }

    /// <summary>
    /// Opens <paramref name="path"/>. Throws <see cref="FileNotFoundException"/> when it does not exist and
    /// <see cref="InvalidDataException"/>, naming the file and the problem, when it is not a TIFF, is truncated, or
    /// holds nothing this reader can decode.
    /// </summary>
    public static TiffSlide Open(string path, TiffSlideOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        options ??= new TiffSlideOptions();
        SlideOpener.RequireFile(path);

        long fileLength = FileLength(path);
        CheckMagic(path);
        TiffStructure.Check(path);
        var handle = TiffErrorLog.Guard(path, () => Handle.Open(path));
        try
        {
            var directories = TiffErrorLog.Guard(path, () => ReadDirectories(handle.Tiff, path));
            bool aperio = directories[0].Description?.StartsWith("Aperio", StringComparison.Ordinal) == true;
            var levels = ChooseLevels(path, directories, options);
            TiffErrorLog.Guard(path, () =>
            {
                foreach (var level in levels)
                {
                    CheckComplete(handle.Tiff, path, level, fileLength);
                }
                return true;
            });

            var (properties, mpp, power) = Describe(directories[0], aperio, levels);
            var slide = new TiffSlide(path, levels, aperio ? "aperio" : "generic-tiff", properties, mpp, power, options);
            slide._idle.Add(handle);
            return slide;
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public byte[] ReadRegion(int level, long x, long y, int width, int height)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        CheckLevel(level);
        if (width < 0 || height < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(width), $"region size must not be negative, got {width} x {height}");
        }

        var info = _levels[level];
        var region = new byte[(long)width * height * 3];
        Array.Fill(region, (byte)255);
        // The region's corner in this level's pixels (OpenSlide's convention: level-0 position over the downsample).
        long left = (long)Math.Floor(x / info.Downsample), top = (long)Math.Floor(y / info.Downsample);
        long x0 = Math.Max(left, 0), y0 = Math.Max(top, 0);
        long x1 = Math.Min(left + width, info.Width), y1 = Math.Min(top + height, info.Height);
        if (x0 >= x1 || y0 >= y1)
        {
            return region;
        }

        for (long ty = y0 / info.TileHeight; ty * info.TileHeight < y1; ty++)
        {
            for (long tx = x0 / info.TileWidth; tx * info.TileWidth < x1; tx++)
            {
                long tileLeft = tx * info.TileWidth, tileTop = ty * info.TileHeight;
                long cx0 = Math.Max(x0, tileLeft), cx1 = Math.Min(x1, tileLeft + info.TileWidth);
                long cy0 = Math.Max(y0, tileTop), cy1 = Math.Min(y1, tileTop + info.TileHeight);
                int rowBytes = (int)(cx1 - cx0) * 3;
                UseTile(level, tx, ty, tile =>
                {
                    for (long row = cy0; row < cy1; row++)
                    {
                        long source = ((row - tileTop) * info.TileWidth + (cx0 - tileLeft)) * 3;
                        long target = ((row - top) * width + (cx0 - left)) * 3;
                        Array.Copy(tile, source, region, target, rowBytes);
                    }
                });
            }
        }
        return region;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        while (_idle.TryTake(out var handle))
        {
            handle.Dispose();
        }
    }

    private void CheckLevel(int level)
    {
        if (level < 0 || level >= _levels.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(level), $"{Path}: level {level} is outside 0 .. {_levels.Length - 1}");
        }
    }

    // Calls use with a decoded tile (or strip) as RGB rows of TileWidth x TileHeight pixels, from the cache or decoded
    // now; the tile is stored for reuse afterwards, so use must not keep it.
    private void UseTile(int level, long tx, long ty, Action<byte[]> use)
    {
        var info = _levels[level];
        int index = checked((int)(ty * info.TilesAcross + tx));
        if (_cache.TryUse(level, index, use))
        {
            return;
        }

        if (!_idle.TryTake(out var handle))
        {
            handle = Handle.Open(Path);
        }
        var pixels = _cache.Rent(info.TileWidth * info.TileHeight * 3);
        try
        {
            TiffErrorLog.Guard(Path, () =>
            {
                handle.Decode(info, index, tx, ty, Path, level, pixels);
                return true;
            });
        }
        finally
        {
            if (_disposed)
            {
                handle.Dispose();
            }
            else
            {
                _idle.Add(handle);
            }
        }
        use(pixels);
        _cache.Add(level, index, pixels);
    }

    // The length of the file itself: FileInfo.Length of a symbolic link is the link's own length (lstat), and
    // cohorts on clusters are usually reached through links.
    private static long FileLength(string path)
    {
        using var handle = File.OpenHandle(path);
        return RandomAccess.GetLength(handle);
    }

    private static void CheckMagic(string path)
    {
        Span<byte> magic = stackalloc byte[4];
        using (var stream = File.OpenRead(path))
        {
            if (stream.ReadAtLeast(magic, 4, throwOnEndOfStream: false) < 4)
            {
                throw new SlideFormatException($"{path}: not a TIFF file (only {stream.Length} bytes long)");
            }
        }
        bool tiff = (magic[0], magic[1], magic[2], magic[3]) is
            ((byte)'I', (byte)'I', 42 or 43, 0) or ((byte)'M', (byte)'M', 0, 42 or 43);
        if (!tiff)
        {
            throw new SlideFormatException(
                $"{path}: not a TIFF file (starts with bytes {Convert.ToHexString(magic)}, a TIFF starts with 49492A00 or 4D4D002A)");
        }
    }

    private static List<Directory> ReadDirectories(Tiff tiff, string path)
    {
        int count = tiff.NumberOfDirectories();
        var directories = new List<Directory>(count);
        for (int i = 0; i < count; i++)
        {
            TiffErrorLog.Reset();
            if (!tiff.SetDirectory((short)i))
            {
                throw new InvalidDataException(
                    $"{path}: damaged or truncated TIFF ({FileLength(path)} bytes): directory {i} cannot be read ({TiffErrorLog.Last ?? "unknown error"})");
            }
            directories.Add(Directory.Read(tiff, i));
        }
        if (directories.Count == 0)
        {
            throw new InvalidDataException($"{path}: the TIFF file holds no image");
        }
        return directories;
    }

    // Levels are the tiled directories, largest first (OpenSlide's rule for generic TIFF and Aperio: the stripped
    // thumbnail, label and macro of an SVS are not levels). A file with no tiled directory is read strip by strip
    // from its first directory, when its strips are small enough to decode one at a time.
    private static Level[] ChooseLevels(string path, List<Directory> directories, TiffSlideOptions options)
    {
        var tiled = directories.Where(d => d.Tiled).OrderByDescending(d => (long)d.Width * d.Height).ToList();
        var chosen = tiled.Count > 0 ? tiled : [directories[0]];
        var baseDirectory = chosen[0];
        if (!baseDirectory.Tiled)
        {
            long stripBytes = (long)baseDirectory.Width * baseDirectory.BlockHeight * 3;
            if (stripBytes > options.MaxStripBytes)
            {
                throw new InvalidDataException(
                    $"{path}: striped (untiled) TIFF whose strips are {baseDirectory.Width} x {baseDirectory.BlockHeight} pixels " +
                    $"({stripBytes / (1024.0 * 1024):F0} MiB decoded each), more than the {options.MaxStripBytes / (1024.0 * 1024):F0} MiB " +
                    "this reader decodes at once; convert it to a tiled pyramidal TIFF, e.g. " +
                    "`vips tiffsave IN OUT.tif --tile --pyramid --compression jpeg --tile-width 256 --tile-height 256`");
            }
        }

        var levels = new Level[chosen.Count];
        for (int i = 0; i < chosen.Count; i++)
        {
            var d = chosen[i];
            d.CheckDecodable(path, i);
            // OpenSlide's downsample of a level: the mean of the width and height ratios to level 0.
            double downsample = ((double)baseDirectory.Width / d.Width + (double)baseDirectory.Height / d.Height) / 2;
            levels[i] = new Level(d, i == 0 ? 1.0 : downsample);
        }
        return levels;
    }

    // Tile offsets plus sizes must stay inside the file: a download cut short is caught here with one clear message,
    // rather than as a decoding error in the middle of a long run.
    private static void CheckComplete(Tiff tiff, string path, Level level, long fileLength)
    {
        tiff.SetDirectory((short)level.Directory.Index);
        var offsets = tiff.GetField(level.Directory.Tiled ? TiffTag.TILEOFFSETS : TiffTag.STRIPOFFSETS)?[0].TolongArray();
        var counts = tiff.GetField(level.Directory.Tiled ? TiffTag.TILEBYTECOUNTS : TiffTag.STRIPBYTECOUNTS)?[0].TolongArray();
        if (offsets is null || counts is null || offsets.Length != counts.Length || offsets.Length < level.BlockCount)
        {
            throw new InvalidDataException(
                $"{path}: TIFF directory {level.Directory.Index} lacks the offsets or sizes of its {level.BlockCount} tiles or strips");
        }
        long end = 0;
        for (int i = 0; i < offsets.Length; i++)
        {
            end = Math.Max(end, offsets[i] + counts[i]);
        }
        if (end > fileLength)
        {
            throw new InvalidDataException(
                $"{path}: truncated TIFF: the image data of directory {level.Directory.Index} reaches byte {end} but the file has {fileLength} bytes");
        }
    }

    private static (Dictionary<string, string> Properties, (double, double)? Mpp, double? Power) Describe(
        Directory first, bool aperio, Level[] levels)
    {
        var properties = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in first.Tags)
        {
            properties["tiff." + name] = value;
        }

        (double, double)? mpp = null;
        double? power = null;
        if (aperio && first.Description is { } description)
        {
            properties["openslide.comment"] = description;
            // "Aperio Image Library vX\r\nsize info|AppMag = 20|MPP = 0.499|...": key = value pairs after the first '|'.
            foreach (var field in description.Split('|').Skip(1))
            {
                int equals = field.IndexOf('=', StringComparison.Ordinal);
                if (equals > 0)
                {
                    properties["aperio." + field[..equals].Trim()] = field[(equals + 1)..].Trim();
                }
            }
            if (properties.TryGetValue("aperio.MPP", out var text) && TryParse(text, out double value) && value > 0)
            {
                mpp = (value, value);
            }
            if (properties.TryGetValue("aperio.AppMag", out text) && TryParse(text, out value) && value > 0)
            {
                power = value;
            }
        }
        else if (first.Description is { } comment)
        {
            properties["openslide.comment"] = comment;
        }

        if (mpp is null && first.MicronsPerPixel is { } fromTags)
        {
            mpp = fromTags;
        }

        properties["openslide.vendor"] = aperio ? "aperio" : "generic-tiff";
        if (mpp is { } m)
        {
            properties["openslide.mpp-x"] = Format(m.Item1);
            properties["openslide.mpp-y"] = Format(m.Item2);
        }
        if (power is { } p)
        {
            properties["openslide.objective-power"] = Format(p);
        }
        properties["openslide.level-count"] = Format(levels.Length);
        for (int i = 0; i < levels.Length; i++)
        {
            properties[$"openslide.level[{i}].width"] = Format(levels[i].Width);
            properties[$"openslide.level[{i}].height"] = Format(levels[i].Height);
            properties[$"openslide.level[{i}].downsample"] = Format(levels[i].Downsample);
            if (levels[i].Directory.Tiled)
            {
                properties[$"openslide.level[{i}].tile-width"] = Format(levels[i].TileWidth);
                properties[$"openslide.level[{i}].tile-height"] = Format(levels[i].TileHeight);
            }
        }
        return (properties, mpp, power);
    }

    private static bool TryParse(string text, out double value) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value);

    private static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>
    /// The largest decoded tile: 64 MiB, room for 4096 x 4096 RGB tiles where slides use 240 to 1024 pixels, so a
    /// damaged tile size is refused before a tile buffer is allocated (docs/reliability.md).
    /// </summary>
    public const long MaxTileBytes = 64L * 1024 * 1024;

    /// <summary>What one TIFF directory holds, read once when the slide is opened.</summary>
    private sealed class Directory
    {
        private static readonly (TiffTag Tag, string Name)[] TextTags =
        [
            (TiffTag.IMAGEDESCRIPTION, "ImageDescription"), (TiffTag.MAKE, "Make"), (TiffTag.MODEL, "Model"),
            (TiffTag.SOFTWARE, "Software"), (TiffTag.DATETIME, "DateTime"), (TiffTag.ARTIST, "Artist"),
            (TiffTag.HOSTCOMPUTER, "HostComputer"), (TiffTag.COPYRIGHT, "Copyright"), (TiffTag.DOCUMENTNAME, "DocumentName"),
        ];

        public int Index { get; private init; }
        public int Width { get; private init; }
        public int Height { get; private init; }
        public bool Tiled { get; private init; }
        public int BlockWidth { get; private init; }
        public int BlockHeight { get; private init; }
        public Compression Compression { get; private init; }
        public Photometric Photometric { get; private init; }
        public int Samples { get; private init; }
        public int Bits { get; private init; }
        public PlanarConfig Planar { get; private init; }
        public string? Description { get; private init; }
        public bool CodecConfigured { get; private init; }
        public (double, double)? MicronsPerPixel { get; private init; }
        public List<(string Name, string Value)> Tags { get; } = [];

        /// <summary>
        /// Whether tiles decode straight to interleaved RGB (8-bit RGB, or YCbCr JPEG converted by the codec);
        /// anything else goes through LibTiff's RGBA interface.
        /// </summary>
        public bool Direct => Bits == 8 && Samples == 3 && Planar == PlanarConfig.CONTIG &&
            (Photometric == Photometric.RGB || (Photometric == Photometric.YCBCR && Compression == Compression.JPEG));

        public static Directory Read(Tiff tiff, int index)
        {
            bool tiled = tiff.IsTiled();
            int width = tiff.GetField(TiffTag.IMAGEWIDTH)?[0].ToInt() ?? 0;
            int height = tiff.GetField(TiffTag.IMAGELENGTH)?[0].ToInt() ?? 0;
            var compression = (Compression)(tiff.GetField(TiffTag.COMPRESSION)?[0].ToInt() ?? 1);
            var directory = new Directory
            {
                Index = index,
                Width = width,
                Height = height,
                Tiled = tiled,
                BlockWidth = tiled ? tiff.GetField(TiffTag.TILEWIDTH)[0].ToInt() : width,
                BlockHeight = tiled
                    ? tiff.GetField(TiffTag.TILELENGTH)[0].ToInt()
                    : Math.Min(height, tiff.GetFieldDefaulted(TiffTag.ROWSPERSTRIP)?[0].ToInt() is > 0 and var rows ? rows : height),
                Compression = compression,
                CodecConfigured = tiff.IsCodecConfigured(compression),
                Photometric = (Photometric)(tiff.GetField(TiffTag.PHOTOMETRIC)?[0].ToInt() ?? 2),
                Samples = tiff.GetFieldDefaulted(TiffTag.SAMPLESPERPIXEL)?[0].ToInt() ?? 1,
                Bits = tiff.GetFieldDefaulted(TiffTag.BITSPERSAMPLE)?[0].ToInt() ?? 1,
                Planar = (PlanarConfig)(tiff.GetFieldDefaulted(TiffTag.PLANARCONFIG)?[0].ToInt() ?? 1),
                Description = tiff.GetField(TiffTag.IMAGEDESCRIPTION)?[0].ToString(),
                MicronsPerPixel = ResolutionMpp(tiff),
            };
            foreach (var (tag, name) in TextTags)
            {
                if (tiff.GetField(tag)?[0].ToString() is { } text)
                {
                    directory.Tags.Add((name, text));
                }
            }
            if (tiff.GetField(TiffTag.XRESOLUTION)?[0].ToDouble() is { } xres && tiff.GetField(TiffTag.YRESOLUTION)?[0].ToDouble() is { } yres)
            {
                directory.Tags.Add(("XResolution", Format(xres)));
                directory.Tags.Add(("YResolution", Format(yres)));
                var unit = (ResUnit)(tiff.GetFieldDefaulted(TiffTag.RESOLUTIONUNIT)?[0].ToInt() ?? 2);
                directory.Tags.Add(("ResolutionUnit", unit switch
                {
                    ResUnit.CENTIMETER => "centimeter",
                    ResUnit.INCH => "inch",
                    _ => "none",
                }));
            }
            return directory;
        }

        public void CheckDecodable(string path, int level)
        {
            if (Width <= 0 || Height <= 0 || BlockWidth <= 0 || BlockHeight <= 0)
            {
                throw new InvalidDataException(
                    $"{path}: TIFF directory {Index} (level {level}) has an invalid size {Width} x {Height} or tile size {BlockWidth} x {BlockHeight}");
            }
            if (Tiled && (long)BlockWidth * BlockHeight * 3 > MaxTileBytes)
            {
                throw new InvalidDataException(
                    $"{path}: TIFF directory {Index} (level {level}) has tiles of {BlockWidth} x {BlockHeight} pixels; " +
                    $"this reader decodes tiles of at most {MaxTileBytes / (1024 * 1024)} MiB (4096 x 4096 RGB)");
            }
            if (!Direct && Bits != 8 && Bits != 16 && Bits != 1 && Bits != 4)
            {
                throw new InvalidDataException(
                    $"{path}: TIFF directory {Index} (level {level}) has {Samples} samples of {Bits} bits; expected 8-bit RGB, YCbCr JPEG or grey");
            }
            if (!CodecConfigured)
            {
                throw new SlideFormatException(
                    $"{path}: TIFF directory {Index} (level {level}) uses compression {Compression} ({(int)Compression}), which the managed reader cannot decode" +
                    " (JPEG 2000 SVS files need --slide-reader openslide)");
            }
        }

        // Resolution tags to microns per pixel: 10^4 um per cm, 25400 um per inch; no unit means no physical size.
        private static (double, double)? ResolutionMpp(Tiff tiff)
        {
            var unit = (ResUnit)(tiff.GetFieldDefaulted(TiffTag.RESOLUTIONUNIT)?[0].ToInt() ?? 2);
            double perUnit = unit switch
            {
                ResUnit.CENTIMETER => 10_000,
                ResUnit.INCH => 25_400,
                _ => 0,
            };
            double x = tiff.GetField(TiffTag.XRESOLUTION)?[0].ToDouble() ?? 0, y = tiff.GetField(TiffTag.YRESOLUTION)?[0].ToDouble() ?? 0;
            return perUnit > 0 && x > 0 && y > 0 ? (perUnit / x, perUnit / y) : null;
        }
    }

    /// <summary>One level: its directory and the grid of tiles (or strips) it is stored in.</summary>
    private sealed class Level(Directory directory, double downsample)
    {
        public Directory Directory { get; } = directory;
        public double Downsample { get; } = downsample;
        public long Width => Directory.Width;
        public long Height => Directory.Height;
        public int TileWidth => Directory.BlockWidth;
        public int TileHeight => Directory.BlockHeight;
        public long TilesAcross => (Width + TileWidth - 1) / TileWidth;
        public long BlockCount => TilesAcross * ((Height + TileHeight - 1) / TileHeight);
    }

    /// <summary>One LibTiff handle on the file, used by one thread at a time, remembering its current directory.</summary>
    private sealed class Handle : IDisposable
    {
        private int _directory = -1;

        private Handle(Tiff tiff) => Tiff = tiff;

        public Tiff Tiff { get; }

        public static Handle Open(string path)
        {
            TiffErrorLog.Reset();
            var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.RandomAccess);
            var tiff = Tiff.ClientOpen(path, "r", stream, new TiffStream());
            if (tiff is null)
            {
                stream.Dispose();
                throw new InvalidDataException(
                    $"{path}: damaged or truncated TIFF ({FileLength(path)} bytes): {TiffErrorLog.Last ?? "its first directory cannot be read"}");
            }
            return new Handle(tiff);
        }

        // Decodes tile (or strip) index of level into rgb, TileWidth x TileHeight x 3 bytes.
        public void Decode(Level level, int index, long tx, long ty, string path, int levelIndex, byte[] rgb)
        {
            var directory = level.Directory;
            TiffErrorLog.Reset();
            if (_directory != directory.Index)
            {
                if (!Tiff.SetDirectory((short)directory.Index))
                {
                    throw Failure(path, levelIndex, index);
                }
                if (directory.Compression == Compression.JPEG && directory.Photometric == Photometric.YCBCR)
                {
                    // Let the JPEG codec convert YCbCr (and upsample chroma) to RGB, as libjpeg does for OpenSlide.
                    Tiff.SetField(TiffTag.JPEGCOLORMODE, JpegColorMode.RGB);
                }
                _directory = directory.Index;
            }

            int pixels = level.TileWidth * level.TileHeight;
            if (directory.Direct)
            {
                int read = directory.Tiled
                    ? Tiff.ReadEncodedTile(index, rgb, 0, rgb.Length)
                    : Tiff.ReadEncodedStrip(index, rgb, 0, rgb.Length);
                if (read < 0)
                {
                    throw Failure(path, levelIndex, index);
                }
                return;
            }

            // Grey, palette, RGBA, 16-bit and other layouts: LibTiff's RGBA interface, whose raster is bottom-up
            // ABGR; alpha is composed over white as OpenSlide's transparent pixels are.
            var raster = new int[pixels];
            bool ok = directory.Tiled
                ? Tiff.ReadRGBATile((int)(tx * level.TileWidth), (int)(ty * level.TileHeight), raster)
                : Tiff.ReadRGBAStrip((int)(ty * level.TileHeight), raster);
            if (!ok)
            {
                throw Failure(path, levelIndex, index);
            }
            int rows = directory.Tiled ? level.TileHeight : (int)Math.Min(level.TileHeight, level.Height - ty * level.TileHeight);
            for (int row = 0; row < rows; row++)
            {
                int from = (rows - 1 - row) * level.TileWidth, to = row * level.TileWidth * 3;
                for (int col = 0; col < level.TileWidth; col++)
                {
                    int abgr = raster[from + col], alpha = Tiff.GetA(abgr);
                    rgb[to + col * 3] = OverWhite(Tiff.GetR(abgr), alpha);
                    rgb[to + col * 3 + 1] = OverWhite(Tiff.GetG(abgr), alpha);
                    rgb[to + col * 3 + 2] = OverWhite(Tiff.GetB(abgr), alpha);
                }
            }
        }

        public void Dispose() => Tiff.Dispose();

        private static byte OverWhite(int value, int alpha) => (byte)((value * alpha + 255 * (255 - alpha) + 127) / 255);

        private static InvalidDataException Failure(string path, int level, int index) => new(
            $"{path}: cannot decode tile {index} of level {level} ({TiffErrorLog.Last ?? "damaged data"})");
    }
}
