using System.Globalization;
using Ips.Imaging;
using Ips.Patches;
using Ips.Slides;
using Ips.Slides.Tiling;

namespace Ips.Inference;

/// <summary>How <c>ips predict</c> treats whole-slide inputs.</summary>
public sealed record SlideInputOptions
{
    /// <summary>Treat every input as a slide, whatever its extension.</summary>
    public bool ForceSlide { get; init; }

    /// <summary>A tile coordinates file (<c>ips slides tile</c>, CLAM or TRIDENT) to use instead of finding the tissue.</summary>
    public string? Coords { get; init; }

    /// <summary>The level tiles are read from when the tissue is found here.</summary>
    public int Level { get; init; }

    /// <summary>The level of the Otsu threshold; null: <see cref="Level"/>.</summary>
    public int? OtsuLevel { get; init; }

    /// <summary>Tile side in pixels of the level; null: the config's patch size.</summary>
    public int? TileSize { get; init; }

    /// <summary>Least tissue fraction of a kept tile.</summary>
    public double FgPercThresh { get; init; } = 0.01;

    /// <summary>Which reader opens slides.</summary>
    public SlideReaderKind Reader { get; init; }
}

/// <summary>IPS on a whole slide, streamed from disk tile by tile.</summary>
public sealed partial class Predictor
{
    private const int SlideThumbnailSide = 1024;

    /// <summary>How slide inputs are recognised and tiled.</summary>
    public SlideInputOptions Slides { get; init; } = new();

    // A slide by --slide or --coords, by a vendor extension, or a .tif/.tiff that holds a pyramid (a plain TIFF image
    // stays an image).
    private bool IsSlide(string input)
    {
        if (Slides.ForceSlide || Slides.Coords is not null)
        {
            return true;
        }
        if (!SlideOpener.IsSlidePath(input))
        {
            return false;
        }
        if (Path.GetExtension(input).ToLowerInvariant() is not (".tif" or ".tiff"))
        {
            return true;
        }
        try
        {
            using var slide = SlideOpener.Open(input, Slides.Reader);
            return slide.Levels.Count > 1;
        }
        catch (Exception error) when (error is IOException or InvalidDataException)
        {
            // Not readable as a slide: the image reader gives the message.
            return false;
        }
    }

    /// <summary>
    /// Finds the slide's tissue tiles (or reads them from <see cref="SlideInputOptions.Coords"/>), runs IPS over them
    /// with the tiles decoded on demand, and writes the attention over the slide's thumbnail.
    /// </summary>
    private Prediction PredictSlide(string input, string? attentionDirectory)
    {
        string config = Path.GetFileName(_config.Source);
        if (!_config.IsImage || _config.NChanIn != 3)
        {
            throw new ArgumentException($"{input}: a slide needs an RGB image config (is_image: true, n_chan_in: 3); config {config} has is_image: {_config.IsImage}, n_chan_in: {_config.NChanIn}.");
        }
        var slide = SlideOpener.Open(input, Slides.Reader);
        SlideTileSource source;
        try
        {
            var (level, tileSize, coordinates) = Tiles(slide, input);
            if (coordinates.Count == 0)
            {
                throw new InvalidDataException($"{input}: no tissue tiles found (level {level}, tile size {tileSize}); nothing to predict on.");
            }
            source = new SlideTileSource(slide, level, tileSize, coordinates, ownsSlide: true);
        }
        catch
        {
            slide.Dispose();
            throw;
        }

        using (source)
        {
            var prediction = Run(input, source, grid: null, image: null, attentionDirectory: null);
            int side0 = (int)(source.TileSize * slide.Levels[source.Level].Downsample + 0.5);
            var selected = prediction.Selected
                .Select(p => p with { Box = new PixelBox(checked((int)source.Coordinates[(int)p.Index].X), checked((int)source.Coordinates[(int)p.Index].Y), side0, side0) })
                .ToList();
            string? mapPath = null;
            if (attentionDirectory is not null)
            {
                mapPath = Path.Combine(attentionDirectory, Path.GetFileNameWithoutExtension(input) + ".attention.png");
                SlideAttentionMap.Render(slide.ReadThumbnail(SlideThumbnailSide), [.. selected.Select(p => p.Box!.Value)], [.. selected.Select(p => p.Score)], mapPath);
            }
            return prediction with { Selected = selected, AttentionMap = mapPath };
        }
    }

    private (int Level, int TileSize, IReadOnlyList<(long X, long Y)> Coordinates) Tiles(ISlide slide, string input)
    {
        if (Slides.Coords is { } path)
        {
            var coords = TileCoordsFile.Read(path);
            if (Slides.TileSize is { } size && size != coords.Info.PatchSize)
            {
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                    $"--coords {path}: tiles of {coords.Info.PatchSize} pixels, but --tile-size {size} was given."));
            }
            LevelGeometry.Check(slide, coords.Info.PatchLevel);
            return (coords.Info.PatchLevel, coords.Info.PatchSize,
                [.. Enumerable.Range(0, coords.Count).Select(i => ((long)coords.Coords[i, 0], (long)coords.Coords[i, 1]))]);
        }

        int tileSize = Slides.TileSize ?? _config.PatchSize?[0]
            ?? throw new ArgumentException($"{input}: give --tile-size; config {Path.GetFileName(_config.Source)} has no patch_size.");
        var options = new TilingOptions { Level = Slides.Level, OtsuLevel = Slides.OtsuLevel, TileSize = tileSize, FgPercThresh = Slides.FgPercThresh };
        var tiles = SlideTiler.Tile(slide, options, SlideTiler.Threshold(slide, options.EffectiveOtsuLevel));
        return (options.Level, tileSize, [.. Enumerable.Range(0, tiles.Count).Select(i => ((long)tiles.X[i], (long)tiles.Y[i]))]);
    }
}
