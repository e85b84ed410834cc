namespace Ips.Slides.Tiling;

/// <summary>
/// Where the tiles of a slide start, as the official <c>split_slide</c> places them: on level-0 coordinates
/// <c>0, step, 2 step, ...</c> below the level-0 width and height, where a tile spans
/// <c>tile_size0 = int(tile_size * downsample + 0.5)</c> level-0 pixels and <c>step = tile_size0 - overlap0</c>. The
/// last tile of a row or column may reach past the slide; its outside reads as white glass. Tiles at a resolution
/// (<see cref="TilingOptions.TargetMpp"/>, <see cref="TilingOptions.TargetMagnification"/>) are placed the same way,
/// with the downsample of the resolution asked for rather than of a level.
/// </summary>
public sealed class TileGrid
{
    /// <summary>The grid of <paramref name="options"/> on <paramref name="slide"/>.</summary>
    public TileGrid(ISlide slide, TilingOptions options)
    {
        ArgumentNullException.ThrowIfNull(slide);
        ArgumentNullException.ThrowIfNull(options);
        options.Check(slide);
        if (options.AtResolution)
        {
            (Downsample, Level0Mpp, Level0Magnification) = options.Resolution(slide);
            try
            {
                Sampling = TileSampling.ForDownsample(slide.Levels, Downsample, options.TileSize);
            }
            catch (ArgumentException error)
            {
                throw new ArgumentException($"{slide.Path}: {Describe(options)}: {error.Message}", error);
            }
        }
        else
        {
            Downsample = slide.Levels[options.Level].Downsample;
            Sampling = TileSampling.AtLevel(options.Level, options.TileSize);
        }
        Level = Sampling.Level;
        TileSize = options.TileSize;
        TileSize0 = (int)(options.TileSize * Downsample + 0.5);
        Step0 = TileSize0 - (int)(options.Overlap * Downsample + 0.5);
        Columns = checked((int)((slide.Levels[0].Width + Step0 - 1) / Step0));
        Rows = checked((int)((slide.Levels[0].Height + Step0 - 1) / Step0));
    }

    /// <summary>How each tile is read: the level, the region read there and whether it is resized.</summary>
    public TileSampling Sampling { get; }

    /// <summary>The level tiles are read from.</summary>
    public int Level { get; }

    /// <summary>Level-0 pixels per tile pixel: the downsample of <see cref="Level"/>, or of the resolution asked for.</summary>
    public double Downsample { get; }

    /// <summary>Microns per pixel of level 0 (the file's, or <c>--mpp-level0</c>), when tiles are cut at a resolution and it is known.</summary>
    public double? Level0Mpp { get; }

    /// <summary>Objective magnification of level 0 (binned from its microns per pixel, as TRIDENT does), when tiles are cut at a resolution.</summary>
    public double? Level0Magnification { get; }

    /// <summary>Tile side in pixels (of <see cref="Level"/>, or of the resolution asked for).</summary>
    public int TileSize { get; }

    /// <summary>Tile side in level-0 pixels.</summary>
    public int TileSize0 { get; }

    /// <summary>Distance between neighbouring tiles in level-0 pixels.</summary>
    public int Step0 { get; }

    /// <summary>Tiles per row.</summary>
    public int Columns { get; }

    /// <summary>Rows of tiles.</summary>
    public int Rows { get; }

    /// <summary>Number of tiles examined.</summary>
    public long Count => (long)Columns * Rows;

    /// <summary>Level-0 x of the tiles of column <paramref name="column"/>.</summary>
    public long X(int column) => (long)column * Step0;

    /// <summary>Level-0 y of the tiles of row <paramref name="row"/>.</summary>
    public long Y(int row) => (long)row * Step0;

    private static string Describe(TilingOptions options) => options.TargetMpp is { } mpp
        ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"--mpp {mpp}")
        : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"--magnification {options.TargetMagnification}");
}
