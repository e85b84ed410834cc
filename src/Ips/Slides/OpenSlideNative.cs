using System.Runtime.InteropServices;

namespace Ips.Slides;

/// <summary>
/// The C API of OpenSlide (<c>libopenslide.so.0</c>, Debian/Ubuntu package <c>libopenslide0</c>), bound at run time
/// through function pointers so that a missing library is a clear error rather than a <see cref="DllNotFoundException"/>
/// at an arbitrary call.
/// </summary>
internal sealed unsafe class OpenSlideNative
{
    /// <summary>The shared library's file name.</summary>
    public const string LibraryName = "libopenslide.so.0";

    /// <summary>What to do when the library is missing.</summary>
    public const string InstallHint = "install libopenslide0 (sudo apt-get install -y libopenslide0)";

    private static readonly Lazy<OpenSlideNative?> Loaded = new(Load);

    private readonly delegate* unmanaged<byte*, nint> _open;
    private readonly delegate* unmanaged<nint, byte*> _getError;
    private readonly delegate* unmanaged<nint, int> _getLevelCount;
    private readonly delegate* unmanaged<nint, int, long*, long*, void> _getLevelDimensions;
    private readonly delegate* unmanaged<nint, int, double> _getLevelDownsample;
    private readonly delegate* unmanaged<nint, uint*, long, long, int, long, long, void> _readRegion;
    private readonly delegate* unmanaged<nint, byte**> _getPropertyNames;
    private readonly delegate* unmanaged<nint, byte*, byte*> _getPropertyValue;
    private readonly delegate* unmanaged<nint, void> _close;
    private readonly delegate* unmanaged<byte*> _getVersion;

    private OpenSlideNative(nint library)
    {
        _open = (delegate* unmanaged<byte*, nint>)NativeLibrary.GetExport(library, "openslide_open");
        _getError = (delegate* unmanaged<nint, byte*>)NativeLibrary.GetExport(library, "openslide_get_error");
        _getLevelCount = (delegate* unmanaged<nint, int>)NativeLibrary.GetExport(library, "openslide_get_level_count");
        _getLevelDimensions = (delegate* unmanaged<nint, int, long*, long*, void>)NativeLibrary.GetExport(library, "openslide_get_level_dimensions");
        _getLevelDownsample = (delegate* unmanaged<nint, int, double>)NativeLibrary.GetExport(library, "openslide_get_level_downsample");
        _readRegion = (delegate* unmanaged<nint, uint*, long, long, int, long, long, void>)NativeLibrary.GetExport(library, "openslide_read_region");
        _getPropertyNames = (delegate* unmanaged<nint, byte**>)NativeLibrary.GetExport(library, "openslide_get_property_names");
        _getPropertyValue = (delegate* unmanaged<nint, byte*, byte*>)NativeLibrary.GetExport(library, "openslide_get_property_value");
        _close = (delegate* unmanaged<nint, void>)NativeLibrary.GetExport(library, "openslide_close");
        _getVersion = (delegate* unmanaged<byte*>)NativeLibrary.GetExport(library, "openslide_get_version");
    }

    /// <summary>The loaded API, or a <see cref="SlideReaderUnavailableException"/> saying which package to install.</summary>
    public static OpenSlideNative Api => Loaded.Value ?? throw new SlideReaderUnavailableException(
        $"the OpenSlide library ({LibraryName}) is not installed; {InstallHint}");

    /// <summary>Whether the library can be loaded on this machine.</summary>
    public static bool IsAvailable => Loaded.Value is not null;

    /// <summary>The library's version string.</summary>
    public string Version => Marshal.PtrToStringUTF8((nint)_getVersion()) ?? "unknown";

    public nint Open(string path)
    {
        var name = Marshal.StringToCoTaskMemUTF8(path);
        try
        {
            return _open((byte*)name);
        }
        finally
        {
            Marshal.FreeCoTaskMem(name);
        }
    }

    public string? GetError(nint slide) => Marshal.PtrToStringUTF8((nint)_getError(slide));

    public int GetLevelCount(nint slide) => _getLevelCount(slide);

    public (long Width, long Height) GetLevelDimensions(nint slide, int level)
    {
        long width, height;
        _getLevelDimensions(slide, level, &width, &height);
        return (width, height);
    }

    public double GetLevelDownsample(nint slide, int level) => _getLevelDownsample(slide, level);

    /// <summary>Premultiplied ARGB pixels of a region into <paramref name="destination"/> (<c>width * height</c> values).</summary>
    public void ReadRegion(nint slide, Span<uint> destination, long x, long y, int level, long width, long height)
    {
        fixed (uint* pixels = destination)
        {
            _readRegion(slide, pixels, x, y, level, width, height);
        }
    }

    public Dictionary<string, string> GetProperties(nint slide)
    {
        var properties = new Dictionary<string, string>(StringComparer.Ordinal);
        byte** names = _getPropertyNames(slide);
        for (int i = 0; names != null && names[i] != null; i++)
        {
            var name = Marshal.PtrToStringUTF8((nint)names[i])!;
            properties[name] = Marshal.PtrToStringUTF8((nint)_getPropertyValue(slide, names[i])) ?? "";
        }
        return properties;
    }

    public void Close(nint slide) => _close(slide);

    private static OpenSlideNative? Load() =>
        NativeLibrary.TryLoad(LibraryName, out var library) ? new OpenSlideNative(library) : null;
}
