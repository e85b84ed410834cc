namespace Ips.Slides;

/// <summary>Conversions between a level's pixel grid and the level-0 coordinates that <see cref="ISlide.ReadRegion"/> takes.</summary>
public static class LevelGeometry
{
    /// <summary>
    /// The level-0 coordinate to pass for level pixel <paramref name="levelCoordinate"/>: the smallest integer whose
    /// division by <paramref name="downsample"/> is not below it, so that readers that floor <c>x / downsample</c> (as
    /// OpenSlide does) start at exactly that pixel, also when the downsample is not a whole number.
    /// </summary>
    public static long ToLevel0(long levelCoordinate, double downsample)
    {
        long x0 = (long)Math.Ceiling(levelCoordinate * downsample);
        // Guard against the product rounding up past an exact integer (e.g. 3 * 1.0000000000000002).
        return x0 > 0 && Math.Floor((x0 - 1) / downsample) >= levelCoordinate ? x0 - 1 : x0;
    }

    /// <summary>The level <paramref name="level"/> of <paramref name="slide"/>, or a clear error when it has no such level.</summary>
    public static SlideLevel Check(ISlide slide, int level)
    {
        ArgumentNullException.ThrowIfNull(slide);
        if (level < 0 || level >= slide.Levels.Count)
        {
            throw new ArgumentException($"{slide.Path}: level {level} does not exist; the slide has levels 0 .. {slide.Levels.Count - 1}");
        }
        return slide.Levels[level];
    }
}
