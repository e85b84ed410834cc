using System.Globalization;
using BitMiracle.LibTiff.Classic;

namespace Ips.Imaging;

/// <summary>
/// LibTiff.NET's error handler is process-wide and prints to the console by default. This one handler, installed
/// once for every TIFF reader and writer of the library, keeps the latest error of the calling thread instead, so
/// that the caller can put it into an exception that names the file.
/// </summary>
internal sealed class TiffErrorLog : TiffErrorHandler
{
    [ThreadStatic]
    private static string? _last;

    static TiffErrorLog() => Tiff.SetErrorHandler(new TiffErrorLog());

    private TiffErrorLog()
    {
    }

    /// <summary>Installs the handler (once) and forgets this thread's previous error.</summary>
    internal static void Reset() => _last = null;

    /// <summary>The latest LibTiff error on this thread since <see cref="Reset"/>, or null.</summary>
    internal static string? Last => _last;

    /// <summary>
    /// Runs LibTiff.NET calls on the file at <paramref name="path"/>, turning the exceptions it throws on damaged
    /// files (overflows, casts and indexes deep in its directory reader and codecs, found by fuzzing:
    /// docs/reliability.md) into an <see cref="InvalidDataException"/> naming the file. The caller's own errors
    /// (an <see cref="InvalidDataException"/> or <see cref="IOException"/> such as <c>SlideFormatException</c> whose
    /// message starts with the path) pass unchanged.
    /// </summary>
    internal static T Guard<T>(string path, Func<T> calls)
    {
        try
        {
            return calls();
        }
        catch (Exception error) when (error is not (OutOfMemoryException or OperationCanceledException)
            && !(error is InvalidDataException or IOException && error.Message.StartsWith(path, StringComparison.Ordinal)))
        {
            throw new InvalidDataException($"{path}: damaged TIFF: LibTiff.NET failed with {error.GetType().Name} ({error.Message})", error);
        }
    }

    public override void ErrorHandler(Tiff tif, string method, string format, params object[] args) =>
        _last = string.Format(CultureInfo.InvariantCulture, format, args);

    public override void ErrorHandlerExt(Tiff tif, object clientData, string method, string format, params object[] args) =>
        _last = string.Format(CultureInfo.InvariantCulture, format, args);

    public override void WarningHandler(Tiff tif, string method, string format, params object[] args)
    {
    }

    public override void WarningHandlerExt(Tiff tif, object clientData, string method, string format, params object[] args)
    {
    }
}
