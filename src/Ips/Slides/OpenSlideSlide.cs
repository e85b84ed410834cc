using System.Globalization;

namespace Ips.Slides;

/// <summary>
/// A slide read by OpenSlide (the system library <c>libopenslide.so.0</c>), for the vendor formats that are not
/// plain TIFF (Hamamatsu .ndpi, MIRAX .mrxs, Leica .scn, Ventana .bif, ...) and as a second opinion on TIFF. OpenSlide
/// handles are thread-safe, so regions are read concurrently without a lock.
/// </summary>
public sealed class OpenSlideSlide : ISlide
{
    private readonly OpenSlideNative _api;
    private nint _handle;

    private OpenSlideSlide(string path, OpenSlideNative api, nint handle)
    {
        Path = path;
        _api = api;
        _handle = handle;
        var levels = new SlideLevel[api.GetLevelCount(handle)];
        for (int i = 0; i < levels.Length; i++)
        {
            var (width, height) = api.GetLevelDimensions(handle, i);
            levels[i] = new SlideLevel(width, height, api.GetLevelDownsample(handle, i));
        }
        Levels = levels;
        Properties = api.GetProperties(handle);
        Vendor = Properties.TryGetValue("openslide.vendor", out var vendor) ? vendor : "unknown";
        if (Number("openslide.mpp-x") is { } mppX && Number("openslide.mpp-y") is { } mppY)
        {
            MicronsPerPixel = (mppX, mppY);
        }
        ObjectivePower = Number("openslide.objective-power");
    }

    /// <summary>The version of the OpenSlide library, or null when it is not installed.</summary>
    public static string? LibraryVersion => OpenSlideNative.IsAvailable ? OpenSlideNative.Api.Version : null;

    /// <inheritdoc />
    public string Path { get; }

    /// <inheritdoc />
    public string Reader => "openslide";

    /// <inheritdoc />
    public IReadOnlyList<SlideLevel> Levels { get; }

    /// <inheritdoc />
    public (double X, double Y)? MicronsPerPixel { get; }

    /// <inheritdoc />
    public double? ObjectivePower { get; }

    /// <inheritdoc />
    public string Vendor { get; }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, string> Properties { get; }

    /// <summary>
    /// Opens <paramref name="path"/> with OpenSlide. Throws <see cref="SlideReaderUnavailableException"/> when the
    /// library is not installed (naming the package), <see cref="SlideFormatException"/> when OpenSlide does not
    /// recognise the format and <see cref="InvalidDataException"/> when it recognises it but cannot read it.
    /// </summary>
    public static OpenSlideSlide Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{path}: slide file not found", path);
        }
        var api = OpenSlideNative.Api;
        nint handle = api.Open(System.IO.Path.GetFullPath(path));
        if (handle == 0)
        {
            throw new SlideFormatException($"{path}: OpenSlide does not recognise the file's format");
        }
        if (api.GetError(handle) is { } error)
        {
            api.Close(handle);
            throw new InvalidDataException($"{path}: OpenSlide cannot read the file: {error}");
        }
        return new OpenSlideSlide(path, api, handle);
    }

    /// <inheritdoc />
    public byte[] ReadRegion(int level, long x, long y, int width, int height)
    {
        ObjectDisposedException.ThrowIf(_handle == 0, this);
        if (level < 0 || level >= Levels.Count)
        {
            throw new ArgumentOutOfRangeException(nameof(level), $"{Path}: level {level} is outside 0 .. {Levels.Count - 1}");
        }
        if (width < 0 || height < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(width), $"region size must not be negative, got {width} x {height}");
        }

        var argb = new uint[(long)width * height];
        _api.ReadRegion(_handle, argb, x, y, level, width, height);
        if (_api.GetError(_handle) is { } error)
        {
            throw new InvalidDataException($"{Path}: OpenSlide cannot read level {level} at ({x}, {y}): {error}");
        }

        // Premultiplied ARGB over white: each channel plus the white that the missing coverage lets through.
        var rgb = new byte[argb.LongLength * 3];
        for (long i = 0; i < argb.LongLength; i++)
        {
            uint pixel = argb[i];
            uint clear = 255 - (pixel >> 24);
            rgb[i * 3] = (byte)(((pixel >> 16) & 0xFF) + clear);
            rgb[i * 3 + 1] = (byte)(((pixel >> 8) & 0xFF) + clear);
            rgb[i * 3 + 2] = (byte)((pixel & 0xFF) + clear);
        }
        return rgb;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        nint handle = Interlocked.Exchange(ref _handle, 0);
        if (handle != 0)
        {
            _api.Close(handle);
        }
    }

    private double? Number(string key) =>
        Properties.TryGetValue(key, out var text) &&
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) && value > 0
            ? value
            : null;
}
