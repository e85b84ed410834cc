namespace Ips.Slides.Tiling;

/// <summary>
/// Where the tiles of a slide start, as the official <c>split_slide</c> places them: on level-0 coordinates
/// <c>0, step, 2 step, ...</c> below the level-0 width and height, where a tile spans
/// <c>tile_size0 = int(tile_size * downsample + 0.5)</c> level-0 pixels and <c>step = tile_size0 - overlap0</c>. The
/// last tile of a row or column may reach past the slide; its outside reads as white glass.
/// </summary>
public sealed class TileGrid
{
    /// <summary>The grid of <paramref name="options"/> on <paramref name="slide"/>.</summary>
    public TileGrid(ISlide slide, TilingOptions options)
    {
        ArgumentNullException.ThrowIfNull(slide);
        ArgumentNullException.ThrowIfNull(options);
        options.Check(slide);
        var level = slide.Levels[options.Level];
        Level = options.Level;
        Downsample = level.Downsample;
        TileSize = options.TileSize;
        TileSize0 = (int)(options.TileSize * Downsample + 0.5);
        Step0 = TileSize0 - (int)(options.Overlap * Downsample + 0.5);
        Columns = checked((int)((slide.Levels[0].Width + Step0 - 1) / Step0));
        Rows = checked((int)((slide.Levels[0].Height + Step0 - 1) / Step0));
    }

    /// <summary>The level tiles are read from.</summary>
    public int Level { get; }

    /// <summary>Downsample of <see cref="Level"/>.</summary>
    public double Downsample { get; }

    /// <summary>Tile side in pixels of <see cref="Level"/>.</summary>
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
}
