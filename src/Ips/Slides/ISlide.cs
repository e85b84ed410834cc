namespace Ips.Slides;

/// <summary>One level of a slide's resolution pyramid.</summary>
/// <param name="Width">Width in pixels at this level.</param>
/// <param name="Height">Height in pixels at this level.</param>
/// <param name="Downsample">Level-0 pixels per pixel of this level (1 for level 0).</param>
public sealed record SlideLevel(long Width, long Height, double Downsample);

/// <summary>
/// A whole-slide image opened for reading: a pyramid of levels read region by region, never whole. Coordinates
/// follow OpenSlide: a region's top-left corner is given in level-0 pixels, its size in pixels of the level read.
/// Implementations are safe to read from several threads at once.
/// </summary>
public interface ISlide : IDisposable
{
    /// <summary>The file the slide was opened from.</summary>
    string Path { get; }

    /// <summary>The reader behind this slide (<c>tiff</c> or <c>openslide</c>), for reports.</summary>
    string Reader { get; }

    /// <summary>Levels from the full resolution (index 0) down.</summary>
    IReadOnlyList<SlideLevel> Levels { get; }

    /// <summary>Microns per pixel at level 0 along x and y, when the file records them.</summary>
    (double X, double Y)? MicronsPerPixel { get; }

    /// <summary>Objective power of the scan (e.g. 20 or 40), when the file records it.</summary>
    double? ObjectivePower { get; }

    /// <summary>The scanner vendor or format (e.g. <c>aperio</c>, <c>generic-tiff</c>, <c>hamamatsu</c>).</summary>
    string Vendor { get; }

    /// <summary>Every property the file carries, under OpenSlide's names where they exist.</summary>
    IReadOnlyDictionary<string, string> Properties { get; }

    /// <summary>
    /// Reads a <paramref name="width"/> x <paramref name="height"/> region of <paramref name="level"/> whose top-left
    /// corner is (<paramref name="x"/>, <paramref name="y"/>) in level-0 pixels, as interleaved RGB bytes
    /// (<c>height * width * 3</c>, row-major). Pixels outside the slide read as white, as OpenSlide's transparent
    /// pixels do when composed over a white background.
    /// </summary>
    byte[] ReadRegion(int level, long x, long y, int width, int height);
}
