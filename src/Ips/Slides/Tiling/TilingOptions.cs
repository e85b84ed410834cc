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

    /// <summary>
    /// Tiles at this many microns per pixel instead of at <see cref="Level"/> (<c>--mpp</c>): <see cref="TileSize"/> is
    /// then in pixels of that resolution, read from the coarsest level at least as fine (<see cref="TileSampling"/>).
    /// </summary>
    public double? TargetMpp { get; init; }

    /// <summary>Tiles at this objective magnification instead of at <see cref="Level"/> (<c>--magnification</c>), as TRIDENT's <c>--mag</c>.</summary>
    public double? TargetMagnification { get; init; }

    /// <summary>Microns per pixel of level 0 for slides whose file does not record it, or records it wrongly (<c>--mpp-level0</c>).</summary>
    public double? Level0Mpp { get; init; }

    /// <summary>Whether tiles are cut at a resolution (<see cref="TargetMpp"/> or <see cref="TargetMagnification"/>) rather than a level.</summary>
    public bool AtResolution => TargetMpp is not null || TargetMagnification is not null;

    /// <summary>The Otsu level in effect: <see cref="OtsuLevel"/>, else the level tiles are read from.</summary>
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
        CheckValues();
        CheckLevel(slide, "--level", Level);
        if (OtsuLevel is { } otsu)
        {
            CheckLevel(slide, "--otsu-level", otsu);
        }
    }

    /// <summary>
    /// Throws <see cref="ArgumentException"/> naming the option when a value is out of range or the options contradict
    /// each other; needs no slide, so a command can check its options before opening any.
    /// </summary>
    public void CheckValues()
    {
        if (TargetMpp is not null && TargetMagnification is not null)
        {
            throw new ArgumentException("--mpp and --magnification both ask for the tiles' resolution; give one of them");
        }
        if (AtResolution && Level != 0)
        {
            throw new ArgumentException("--level cuts tiles at a pyramid level, --mpp and --magnification at a resolution; give one of them");
        }
        CheckPositive("--mpp", TargetMpp);
        CheckPositive("--magnification", TargetMagnification);
        CheckPositive("--mpp-level0", Level0Mpp);
    }

    /// <summary>
    /// Level-0 pixels per tile pixel for tiles at <see cref="TargetMpp"/> or <see cref="TargetMagnification"/> of
    /// <paramref name="slide"/>, with the level-0 microns per pixel and magnification it was computed from (null where
    /// unknown and not needed).
    /// </summary>
    /// <exception cref="ArgumentException">The slide lacks the resolution needed; the message names it and <c>--mpp-level0</c>.</exception>
    public (double Downsample, double? Level0Mpp, double? Level0Magnification) Resolution(ISlide slide)
    {
        ArgumentNullException.ThrowIfNull(slide);
        double? mpp = Level0Mpp ?? slide.MicronsPerPixel?.X;
        if (TargetMpp is { } target)
        {
            double level0 = mpp ?? throw NoMpp(slide, "--mpp");
            return (target / level0, level0, Magnification(mpp, slide));
        }
        double magnification = TargetMagnification ?? throw new InvalidOperationException("tiles are cut at a level, not at a resolution");
        double power = Magnification(mpp, slide) ?? throw NoMpp(slide, "--magnification");
        return (power / magnification, mpp, power);
    }

    // The level-0 magnification as TRIDENT estimates it: binned from the microns per pixel (the scanner's recorded
    // objective power can disagree with its pixel size), else the recorded objective power.
    private static double? Magnification(double? mpp, ISlide slide) => mpp switch
    {
        null => slide.ObjectivePower,
        < 0.16 => 80,
        < 0.2 => 60,
        < 0.3 => 40,
        < 0.6 => 20,
        < 1.2 => 10,
        < 2.4 => 5,
        _ => slide.ObjectivePower,
    };

    private static ArgumentException NoMpp(ISlide slide, string option) => new(
        $"{slide.Path}: {option} needs the slide's microns per pixel, which the file does not record (no openslide.mpp-x, Aperio MPP or TIFF resolution in cm or inch); give it with --mpp-level0 X");

    private static void CheckPositive(string option, double? value)
    {
        if (value is { } v && !(v > 0 && double.IsFinite(v)))
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"{option} must be a positive number, got {v}"));
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
