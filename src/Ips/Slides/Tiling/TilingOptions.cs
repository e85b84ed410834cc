using System.Globalization;

namespace Ips.Slides.Tiling;

/// <summary>
/// How a slide is cut into tiles, with the official pipeline's parameter names: <c>tile_size</c>, <c>overlap</c> and
/// <c>fg_perc_thresh</c> at level <c>lvl</c>, the Otsu threshold from level <c>otsu_lvl</c>.
/// </summary>
public sealed record TilingOptions
{
    /// <summary>The level tiles are cut from (<c>lvl</c>; 0 is full resolution).</summary>
    public int Level { get; init; }

    /// <summary>The side of a tile in pixels of <see cref="Level"/> (<c>tile_size</c>).</summary>
    public int TileSize { get; init; } = 256;

    /// <summary>Pixels of <see cref="Level"/> shared by neighbouring tiles (<c>overlap</c>), 0 .. <see cref="TileSize"/> - 1.</summary>
    public int Overlap { get; init; }

    /// <summary>Least fraction of a tile's pixels that must be tissue for the tile to be kept (<c>fg_perc_thresh</c>).</summary>
    public double FgPercThresh { get; init; } = 0.01;

    /// <summary>The level whose histogram gives the Otsu threshold (<c>otsu_lvl</c>); null: <see cref="Level"/>.</summary>
    public int? OtsuLevel { get; init; }

    /// <summary>The Otsu level in effect.</summary>
    public int EffectiveOtsuLevel => OtsuLevel ?? Level;

    /// <summary>
    /// Throws <see cref="ArgumentException"/> naming the option (as the CLI spells it) when a value is out of range, and
    /// the slide too when <paramref name="slide"/> lacks the level asked for.
    /// </summary>
    public void Check(ISlide slide)
    {
        ArgumentNullException.ThrowIfNull(slide);
        if (TileSize <= 0)
        {
            throw new ArgumentException($"--tile-size must be >= 1, got {TileSize}");
        }
        if (Overlap < 0 || Overlap >= TileSize)
        {
            throw new ArgumentException($"--overlap must be within 0 .. --tile-size - 1 ({TileSize - 1}), got {Overlap}");
        }
        if (FgPercThresh is < 0 or > 1 || double.IsNaN(FgPercThresh))
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"--fg-perc-thresh must be within 0 .. 1, got {FgPercThresh}"));
        }
        CheckLevel(slide, "--level", Level);
        if (OtsuLevel is { } otsu)
        {
            CheckLevel(slide, "--otsu-level", otsu);
        }
    }

    private static void CheckLevel(ISlide slide, string option, int level)
    {
        if (level < 0 || level >= slide.Levels.Count)
        {
            throw new ArgumentException($"{slide.Path}: {option} {level}: the slide has levels 0 .. {slide.Levels.Count - 1}");
        }
    }
}
