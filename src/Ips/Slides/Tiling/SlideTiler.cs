using System.Globalization;
using Ips.Native;
using Ips.Slides.Annotations;
using Ips.Slides.Tissue;

namespace Ips.Slides.Tiling;

/// <summary>The kept tiles of one slide, in row-major order of their position.</summary>
/// <param name="Grid">The grid the tiles were cut on.</param>
/// <param name="ThresholdThirds">The Otsu threshold used, in thirds (see <see cref="StainGrey"/>).</param>
/// <param name="X">Level-0 x of each kept tile's top-left corner.</param>
/// <param name="Y">Level-0 y of each kept tile's top-left corner.</param>
/// <param name="TissueFraction">Fraction of each tile's pixels that are tissue.</param>
/// <param name="TumourFraction">Fraction of each tile's area inside annotated tumour (0 without annotations).</param>
public sealed record TileSet(TileGrid Grid, int ThresholdThirds, int[] X, int[] Y, float[] TissueFraction, float[] TumourFraction)
{
    /// <summary>Number of kept tiles.</summary>
    public int Count => X.Length;

    /// <summary>The Otsu threshold as the official grey value.</summary>
    public double Threshold => StainGrey.ToGrey(ThresholdThirds);
}

/// <summary>
/// Finds the tissue tiles of a slide as the official CAMELYON16 pipeline does: the Otsu threshold of the whole slide's
/// stain-aware grey levels (<see cref="SlideOtsu"/>), then every tile of the grid read on its own and kept when at
/// least <c>fg_perc_thresh</c> of its <c>tile_size^2</c> pixels are tissue by the rule of <see cref="TissueMask"/>, or
/// when any of it is annotated tumour. Memory holds a few tiles per thread and the list of kept tiles, never a mask
/// or a level of the slide.
/// </summary>
public static class SlideTiler
{
    /// <summary>Computes the Otsu threshold (in thirds) of <paramref name="slide"/> at <paramref name="level"/>.</summary>
    public static int Threshold(ISlide slide, int level, IProgress<SlidePassProgress>? progress = null, CancellationToken cancel = default)
    {
        var histogram = SlideOtsu.Histogram(slide, level, progress: progress, cancel: cancel);
        if (histogram.Total == 0)
        {
            throw new InvalidDataException($"{slide.Path}: level {level} has no pixels");
        }
        return histogram.OtsuThirds();
    }

    /// <summary>
    /// Tiles <paramref name="slide"/> with the threshold <paramref name="thresholdThirds"/>. Rows of tiles are done in
    /// bands that share a row of the file's own tiles (their tiles in parallel); <paramref name="progress"/> hears after
    /// each band and <paramref name="overlay"/>, when given, receives every examined tile's mask.
    /// </summary>
    public static TileSet Tile(
        ISlide slide, TilingOptions options, int thresholdThirds, TumourRegions? tumour = null, MaskThumbnail? overlay = null,
        IProgress<SlidePassProgress>? progress = null, CancellationToken cancel = default)
    {
        var grid = new TileGrid(slide, options);
        tumour ??= TumourRegions.None;
        long width0 = slide.Levels[0].Width, height0 = slide.Levels[0].Height;
        int size = grid.TileSize;
        double minTissue = (double)size * size * options.FgPercThresh;

        var lefts = new long[grid.Columns];
        for (int c = 0; c < lefts.Length; c++)
        {
            lefts[c] = grid.X(c);
        }
        int band = BandRows(slide, grid);
        var tumourBand = new float[band][];
        var tissueBand = new int[band][];
        for (int r = 0; r < band; r++)
        {
            (tumourBand[r], tissueBand[r]) = (new float[grid.Columns], new int[grid.Columns]);
        }
        var (xs, ys, tissueFractions, tumourFractions) = (new List<int>(), new List<int>(), new List<float>(), new List<float>());
        var local = new ThreadLocal<(TissueMask Mask, bool[] Pixels)>(() => (new TissueMask(thresholdThirds), new bool[size * size]));
        try
        {
            for (int first = 0; first < grid.Rows; first += band)
            {
                cancel.ThrowIfCancellationRequested();
                int rows = Math.Min(band, grid.Rows - first);
                for (int r = 0; r < rows; r++)
                {
                    tumour.RowFractions(grid.Y(first + r), size, grid.Downsample, lefts, size * grid.Downsample, tumourBand[r]);
                }
                // Column by column down the band: the tiles one task reads in turn lie in the same stored tile, so the
                // reader's cache needs a few tiles per thread rather than a whole row of the level. One thread per core:
                // without a bound the thread pool adds threads during a long pass (12 to 26 over a 100k slide's tiling,
                // under load), each keeping its own LibTiff handle and decoder state, so memory grew with the slide.
                var parallel = new ParallelOptions { CancellationToken = cancel, MaxDegreeOfParallelism = Environment.ProcessorCount };
                Parallel.For(0, grid.Columns, parallel, column =>
                {
                    var (mask, pixels) = local.Value;
                    for (int r = 0; r < rows; r++)
                    {
                        long y = grid.Y(first + r);
                        var rgb = grid.Sampling.Read(slide, lefts[column], y);
                        tissueBand[r][column] = overlay is null ? mask.Count(rgb, size, size) : mask.Count(rgb, size, size, pixels);
                        overlay?.AddTile(lefts[column], y, grid.Downsample, size, pixels, width0, height0);
                    }
                });
                for (int r = 0; r < rows; r++)
                {
                    long y = grid.Y(first + r);
                    for (int column = 0; column < grid.Columns; column++)
                    {
                        if (tissueBand[r][column] >= minTissue || tumourBand[r][column] > 0)
                        {
                            xs.Add(checked((int)lefts[column]));
                            ys.Add(checked((int)y));
                            tissueFractions.Add((float)tissueBand[r][column] / (size * size));
                            tumourFractions.Add(tumourBand[r][column]);
                        }
                    }
                }
                progress?.Report(new SlidePassProgress("tiles", first + rows, grid.Rows));
            }
        }
        finally
        {
            local.Dispose();
            // The pass decoded every tile of the grid; what that freed is of no use to what comes next.
            ProcessAllocator.ReleaseFreedMemory();
        }
        return new TileSet(grid, thresholdThirds, [.. xs], [.. ys], [.. tissueFractions], [.. tumourFractions]);
    }

    // Rows of grid tiles per band: as many as fit in the height of the level's stored tiles (OpenSlide's
    // tile-height property, which both readers give), at least one. Without it, one row at a time.
    private static int BandRows(ISlide slide, TileGrid grid)
    {
        var key = string.Create(CultureInfo.InvariantCulture, $"openslide.level[{grid.Level}].tile-height");
        if (!slide.Properties.TryGetValue(key, out var text) || !int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int stored))
        {
            return 1;
        }
        double stepAtLevel = grid.Step0 / slide.Levels[grid.Level].Downsample;
        return Math.Clamp((int)(stored / stepAtLevel), 1, grid.Rows);
    }
}
