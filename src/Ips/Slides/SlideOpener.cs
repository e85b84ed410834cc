namespace Ips.Slides;

/// <summary>Which reader opens a slide.</summary>
public enum SlideReaderKind
{
    /// <summary>The managed TIFF reader for TIFF and SVS, OpenSlide for everything else.</summary>
    Auto,

    /// <summary>The managed TIFF reader only (<see cref="TiffSlide"/>).</summary>
    Tiff,

    /// <summary>OpenSlide only (<see cref="OpenSlideSlide"/>).</summary>
    OpenSlide,
}

/// <summary>Opens whole-slide images with the managed TIFF reader or OpenSlide.</summary>
public static class SlideOpener
{
    /// <summary>Extensions of vendor formats that only OpenSlide reads.</summary>
    public static readonly IReadOnlyList<string> OpenSlideExtensions = [".ndpi", ".mrxs", ".scn", ".bif", ".vms", ".vmu", ".svslide"];

    /// <summary>Every extension recognised as a slide: TIFF and SVS (either reader) and <see cref="OpenSlideExtensions"/>.</summary>
    public static readonly IReadOnlyList<string> SlideExtensions = [".tif", ".tiff", ".svs", .. OpenSlideExtensions];

    /// <summary>Whether <paramref name="path"/> has a slide extension (case-insensitive).</summary>
    public static bool IsSlidePath(string path) =>
        SlideExtensions.Contains(Path.GetExtension(path).ToLowerInvariant());

    /// <summary>Parses <c>auto</c>, <c>tiff</c> or <c>openslide</c> (case-insensitive).</summary>
    public static SlideReaderKind ParseReader(string text) => text?.Trim().ToLowerInvariant() switch
    {
        "auto" => SlideReaderKind.Auto,
        "tiff" => SlideReaderKind.Tiff,
        "openslide" => SlideReaderKind.OpenSlide,
        _ => throw new ArgumentException($"slide reader '{text}' is not known; expected auto, tiff or openslide"),
    };

    /// <summary>
    /// Fails with one line naming <paramref name="path"/> when there is no slide file there: nothing at all, or a symbolic
    /// link whose target is gone (which <see cref="File.Exists"/> reports as present, since the link itself is there).
    /// </summary>
    /// <exception cref="FileNotFoundException">No file, or a dangling link (the message names its target).</exception>
    internal static void RequireFile(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{path}: slide file not found", path);
        }
        if (new FileInfo(path).LinkTarget is not { } target)
        {
            return;
        }
        // Opening lets the operating system follow the links: File.ResolveLinkTarget resolves a relative target
        // against the path as written, which is wrong when the path itself passes through a linked folder.
        try
        {
            using var file = File.OpenHandle(path);
        }
        catch (Exception error) when (error is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new FileNotFoundException($"{path}: symbolic link to {target}, which does not exist", path);
        }
    }

    /// <summary>
    /// Opens <paramref name="path"/> with <paramref name="reader"/>. <see cref="SlideReaderKind.Auto"/> sends the
    /// vendor formats of <see cref="OpenSlideExtensions"/> to OpenSlide and tries the managed reader first for the
    /// rest, falling back to OpenSlide when the managed reader does not handle the format (not a TIFF, JPEG 2000
    /// tiles); a broken TIFF (truncated, damaged) is reported as it is. All errors name the file.
    /// </summary>
    public static ISlide Open(string path, SlideReaderKind reader = SlideReaderKind.Auto, TiffSlideOptions? tiffOptions = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        RequireFile(path);

        switch (reader)
        {
            case SlideReaderKind.Tiff:
                return TiffSlide.Open(path, tiffOptions);
            case SlideReaderKind.OpenSlide:
                return OpenWithOpenSlide(path);
            case SlideReaderKind.Auto:
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(reader), reader, "unknown slide reader");
        }

        if (OpenSlideExtensions.Contains(Path.GetExtension(path).ToLowerInvariant()))
        {
            return OpenWithOpenSlide(path);
        }

        SlideFormatException managed;
        try
        {
            return TiffSlide.Open(path, tiffOptions);
        }
        catch (SlideFormatException error)
        {
            managed = error;
        }

        try
        {
            return OpenSlideSlide.Open(path);
        }
        catch (Exception error) when (error is InvalidDataException or IOException)
        {
            throw new SlideFormatException(
                $"{path}: cannot open the slide. Managed TIFF reader: {WithoutPath(managed.Message, path)}. " +
                $"OpenSlide: {WithoutPath(error.Message, path)}");
        }
    }

    private static ISlide OpenWithOpenSlide(string path)
    {
        try
        {
            return OpenSlideSlide.Open(path);
        }
        catch (SlideReaderUnavailableException error)
        {
            throw new SlideReaderUnavailableException($"{path}: this slide needs OpenSlide, but {error.Message}");
        }
    }

    private static string WithoutPath(string message, string path) =>
        message.StartsWith(path + ": ", StringComparison.Ordinal) ? message[(path.Length + 2)..] : message;
}
