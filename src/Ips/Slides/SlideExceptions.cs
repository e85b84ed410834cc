namespace Ips.Slides;

/// <summary>
/// The file is readable but in a format this reader does not handle (for the managed reader: not a TIFF, or a TIFF
/// compression it cannot decode), so another reader may still open it. Broken files (truncated, damaged) raise a
/// plain <see cref="InvalidDataException"/> instead, which no other reader is asked to paper over.
/// </summary>
public sealed class SlideFormatException(string message) : IOException(message);

/// <summary>The slide reader asked for cannot run on this machine (e.g. the OpenSlide library is not installed).</summary>
public sealed class SlideReaderUnavailableException(string message) : IOException(message);
