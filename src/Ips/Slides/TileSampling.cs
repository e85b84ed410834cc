using System.Globalization;
using Ips.Imaging;

namespace Ips.Slides;

/// <summary>
/// How one tile is read from a slide: the square region of <see cref="RegionSize"/> pixels of <see cref="Level"/>
/// whose top-left corner is the tile's level-0 corner, resized to <see cref="TileSize"/> pixels with an antialiased
/// filter (<see cref="AntialiasedResize"/>) when the two differ. Tiles cut at a level read that level's pixels as they
/// are; tiles at a resolution (microns per pixel or magnification) read the coarsest level that is at least as fine.
/// </summary>
/// <param name="Level">The level read.</param>
/// <param name="RegionSize">The side of the region read, in pixels of <see cref="Level"/>.</param>
/// <param name="TileSize">The side of the tile, in pixels of the tile's resolution.</param>
public sealed record TileSampling(int Level, int RegionSize, int TileSize)
{
    /// <summary>A level and the target counts as the same resolution when their pixel sizes differ by at most this fraction.</summary>
    public const double SameResolution = 0.01;

    /// <summary>Tiles of <paramref name="tileSize"/> pixels of <paramref name="level"/> itself.</summary>
    public static TileSampling AtLevel(int level, int tileSize) => new(level, tileSize, tileSize);

    /// <summary>
    /// Tiles of <paramref name="tileSize"/> pixels, each <paramref name="downsample"/> level-0 pixels wide, read from
    /// the coarsest of <paramref name="levels"/> whose pixels are at most that wide (never upsampled; a level within
    /// <see cref="SameResolution"/> of it counts as equal and is read without resizing).
    /// </summary>
    /// <exception cref="ArgumentException">The target is finer than level 0 by more than <see cref="SameResolution"/>.</exception>
    public static TileSampling ForDownsample(IReadOnlyList<SlideLevel> levels, double downsample, int tileSize)
    {
        ArgumentNullException.ThrowIfNull(levels);
        ArgumentOutOfRangeException.ThrowIfLessThan(tileSize, 1);
        if (!(downsample > 0) || double.IsInfinity(downsample))
        {
            throw new ArgumentOutOfRangeException(nameof(downsample), downsample, "the target's level-0 pixels per tile pixel must be positive");
        }
        int chosen = -1;
        for (int level = 0; level < levels.Count; level++)
        {
            if (levels[level].Downsample <= downsample * (1 + SameResolution)
                && (chosen < 0 || levels[level].Downsample > levels[chosen].Downsample))
            {
                chosen = level;
            }
        }
        if (chosen < 0)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"the target resolution is {1 / downsample:0.###}x finer than level 0; tiles are never upsampled, so ask for a resolution at most as fine as level 0's"));
        }
        double ratio = downsample / levels[chosen].Downsample;
        int region = Math.Abs(ratio - 1) <= SameResolution ? tileSize : Math.Max(1, (int)Math.Round(tileSize * ratio, MidpointRounding.AwayFromZero));
        return new TileSampling(chosen, region, tileSize);
    }

    /// <summary>Whether the region read is resized (its side differs from the tile's).</summary>
    public bool Resizes => RegionSize != TileSize;

    /// <summary>Level-0 pixels per tile pixel on <paramref name="slide"/>: the level's downsample times the region's reduction.</summary>
    public double Downsample(ISlide slide)
    {
        ArgumentNullException.ThrowIfNull(slide);
        return slide.Levels[Level].Downsample * RegionSize / TileSize;
    }

    /// <summary>The tile of <paramref name="slide"/> whose top-left corner is (<paramref name="x"/>, <paramref name="y"/>) in level-0 pixels, as RGB bytes <c>[TileSize, TileSize, 3]</c>.</summary>
    public byte[] Read(ISlide slide, long x, long y)
    {
        ArgumentNullException.ThrowIfNull(slide);
        var region = slide.ReadRegion(Level, x, y, RegionSize, RegionSize);
        return Resizes ? AntialiasedResize.Rgb(region, RegionSize, RegionSize, TileSize, TileSize) : region;
    }
}
