using System.Globalization;

namespace Ips.Viewer;

/// <summary>
/// The Deep Zoom pyramid of an image of <see cref="Width"/> x <see cref="Height"/> pixels, as OpenSeadragon reads it:
/// level <see cref="MaxLevel"/> is the full resolution, each level below halves it (rounding up) down to 1 x 1 at
/// level 0, and every level is cut into square tiles of <see cref="TileSize"/> pixels without overlap, the last
/// row and column smaller.
/// </summary>
/// <param name="Width">Full-resolution width in pixels.</param>
/// <param name="Height">Full-resolution height in pixels.</param>
/// <param name="TileSize">Tile side in pixels.</param>
public sealed record DeepZoomGrid(long Width, long Height, int TileSize = 256)
{
    /// <summary>The full-resolution level: the smallest n with 2^n at least the longer side.</summary>
    public int MaxLevel { get; } = (int)Math.Ceiling(Math.Log2(Math.Max(Math.Max(Width, Height), 1)));

    /// <summary>Full-resolution pixels per pixel of <paramref name="level"/>.</summary>
    public long Scale(int level) => 1L << (MaxLevel - level);

    /// <summary>Width and height of <paramref name="level"/>.</summary>
    public (long Width, long Height) LevelSize(int level) =>
        ((Width + Scale(level) - 1) / Scale(level), (Height + Scale(level) - 1) / Scale(level));

    /// <summary>
    /// The tile at (<paramref name="column"/>, <paramref name="row"/>) of <paramref name="level"/>: its left and
    /// top in that level's pixels and its size; null when there is no such tile.
    /// </summary>
    public (long Left, long Top, int Width, int Height)? Tile(int level, long column, long row)
    {
        if (level < 0 || level > MaxLevel || column < 0 || row < 0)
        {
            return null;
        }
        var (width, height) = LevelSize(level);
        long left = column * TileSize, top = row * TileSize;
        if (left >= width || top >= height)
        {
            return null;
        }
        return (left, top, (int)Math.Min(TileSize, width - left), (int)Math.Min(TileSize, height - top));
    }

    /// <summary>The DZI descriptor (XML) of the pyramid, with JPEG tiles.</summary>
    public string Descriptor() => string.Create(CultureInfo.InvariantCulture,
        $"""<?xml version="1.0" encoding="UTF-8"?><Image xmlns="http://schemas.microsoft.com/deepzoom/2008" Format="jpg" Overlap="0" TileSize="{TileSize}"><Size Width="{Width}" Height="{Height}"/></Image>""");
}
