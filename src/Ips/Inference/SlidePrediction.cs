using System.Globalization;
using Ips.Encoders;
using Ips.Features;
using Ips.Patches;
using Ips.Slides;
using Ips.Slides.Annotations;
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

    /// <summary>
    /// For a feature config (<c>is_image: false</c>): the frozen tile encoder (<c>byol.ckpt</c> or a torchvision
    /// ResNet <c>.pth</c>, as <c>ips slides features</c> takes) that embeds a slide's tiles on demand.
    /// </summary>
    public string? Encoder { get; init; }

    /// <summary>How tiles are normalised for <see cref="Encoder"/>: <c>auto</c>, <c>imagenet</c> or <c>none</c>.</summary>
    public string Normalisation { get; init; } = "auto";

    /// <summary>Tiles embedded at once by <see cref="Encoder"/>.</summary>
    public int EncoderBatchSize { get; init; } = 64;

    /// <summary>ASAP XML lesion annotations: one file, or a folder of <c>NAME.xml</c> per slide.</summary>
    public string? Annotations { get; init; }
}

/// <summary>How the selected tiles of a slide meet its annotated tumour.</summary>
/// <param name="Annotations">The ASAP XML file read; null for a slide without one in the annotations folder (no tumour).</param>
/// <param name="Selected">Selected tiles.</param>
/// <param name="InTumour">Selected tiles whose tumour fraction is at least <paramref name="MinFraction"/>.</param>
/// <param name="MinFraction">The fraction of a tile's area inside tumour that counts it as a tumour tile.</param>
public sealed record TumourOverlap(string? Annotations, int Selected, int InTumour, double MinFraction);

/// <summary>IPS on a whole slide, streamed from disk tile by tile.</summary>
public sealed partial class Predictor
{
    private const int SlideThumbnailSide = 1024;

    // The CAMELYON16 tile side, for feature configs (which have no patch_size) when no --tile-size is given.
    private const int DefaultEncoderTileSize = 256;

    // A tile counts as tumour when at least half its area lies in annotated tumour.
    private const double TumourTileFraction = 0.5;

    private TileEncoder? _tileEncoder;

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
    /// with the tiles decoded on demand (and, for a feature config, embedded on demand by the frozen
    /// <see cref="SlideInputOptions.Encoder"/>), and writes the attention over the slide's thumbnail.
    /// </summary>
    private Prediction PredictSlide(string input, string? attentionDirectory)
    {
        var encoder = SlideEncoder(input);
        // Annotations are read first, so that a wrong path fails before the slide's tiles are embedded.
        (string? File, TumourRegions Regions)? tumour = Slides.Annotations is { } annotations ? ReadTumour(input, annotations) : null;
        var slide = SlideOpener.Open(input, Slides.Reader);
        SlideTileSource tiles;
        try
        {
            var (level, tileSize, coordinates) = Tiles(slide, input);
            if (coordinates.Count == 0)
            {
                throw new InvalidDataException($"{input}: no tissue tiles found (level {level}, tile size {tileSize}); nothing to predict on.");
            }
            if (encoder is not null && tileSize < encoder.Crop)
            {
                throw new ArgumentException($"{input}: tiles of {tileSize} pixels are smaller than the encoder's {encoder.Crop}-pixel centre crop; give --tile-size {DefaultEncoderTileSize} (or --coords of such tiles).");
            }
            tiles = new SlideTileSource(slide, level, tileSize, coordinates, ownsSlide: true);
        }
        catch
        {
            slide.Dispose();
            throw;
        }

        // A feature config sees the tiles through the encoder: features [k, D] computed chunk by chunk as IPS reads.
        using IPatchSource source = encoder is null ? tiles : new EncodedPatchSource(tiles, encoder, Slides.EncoderBatchSize);
        var prediction = Run(input, source, grid: null, image: null, attentionDirectory: null);
        double downsample = slide.Levels[tiles.Level].Downsample;
        int side0 = (int)(tiles.TileSize * downsample + 0.5);
        var selected = prediction.Selected
            .Select(p => p with { Box = new PixelBox(checked((int)tiles.Coordinates[(int)p.Index].X), checked((int)tiles.Coordinates[(int)p.Index].Y), side0, side0) })
            .ToList();
        TumourOverlap? overlap = null;
        if (tumour is var (file, regions))
        {
            (selected, overlap) = MeetTumour(file, regions, selected, tiles.TileSize, downsample);
        }
        string? mapPath = null;
        if (attentionDirectory is not null)
        {
            Directory.CreateDirectory(attentionDirectory);
            mapPath = Path.Combine(attentionDirectory, Path.GetFileNameWithoutExtension(input) + ".attention.png");
            SlideAttentionMap.Render(slide.ReadThumbnail(SlideThumbnailSide), [.. selected.Select(p => p.Box!.Value)], [.. selected.Select(p => p.Score)], mapPath);
        }
        return prediction with { Selected = selected, AttentionMap = mapPath, Tumour = overlap };
    }

    /// <summary>Refuses <see cref="SlideInputOptions.Encoder"/> with an image config, whatever the input.</summary>
    private void CheckSlideOptions()
    {
        if (Slides.Encoder is { } encoder && _config.IsImage)
        {
            throw new ArgumentException(
                $"--encoder {encoder}: a tile encoder is for feature configs (is_image: false); config {Path.GetFileName(_config.Source)} has is_image: true and encodes its patches itself. Drop --encoder, or use a feature config such as configs/camelyon.yml.");
        }
    }

    // The encoder a slide needs: none for an RGB image config, the --encoder (opened once, checked against n_chan_in)
    // for a feature config.
    private TileEncoder? SlideEncoder(string input)
    {
        string config = Path.GetFileName(_config.Source);
        if (_config.IsImage)
        {
            if (_config.NChanIn != 3)
            {
                throw new ArgumentException($"{input}: a slide needs an RGB image config (is_image: true, n_chan_in: 3) or a feature config with --encoder; config {config} has n_chan_in: {_config.NChanIn}.");
            }
            return null;
        }
        if (Slides.Encoder is not { } path)
        {
            throw new ArgumentException(
                $"{input}: config {config} has is_image: false ({_config.NChanIn}-d tile features), so a slide needs --encoder FILE (the byol.ckpt or torchvision ResNet .pth the features came from) to embed its tiles; or predict on the slide's feature file (.h5).");
        }
        if (_tileEncoder is null)
        {
            var encoder = TileEncoder.Open(path, Slides.Normalisation, _device);
            if (encoder.OutputDim != _config.NChanIn)
            {
                encoder.Dispose();
                throw new ArgumentException(
                    $"--encoder {path}: gives {encoder.OutputDim}-d features but config {config} has n_chan_in {_config.NChanIn}; use the encoder whose features the model was trained on.");
            }
            _tileEncoder = encoder;
        }
        return _tileEncoder;
    }

    // The annotated tumour of a slide: its file (null for a slide without one in the folder) and regions.
    private static (string? File, TumourRegions Regions) ReadTumour(string input, string annotations)
    {
        string? file;
        if (Directory.Exists(annotations))
        {
            file = SlideTilingJob.AnnotationPath(annotations, input);
        }
        else if (File.Exists(annotations))
        {
            file = annotations;
        }
        else
        {
            throw new FileNotFoundException($"--annotations {annotations}: no such ASAP XML file or folder of NAME.xml files.", annotations);
        }
        return (file, file is null ? TumourRegions.None : AsapAnnotations.Read(file));
    }

    // The tumour fraction of each selected tile (the area inside the annotated tumour, as `ips slides tile` records it)
    // and how many reach TumourTileFraction.
    private static (List<SelectedPatch> Selected, TumourOverlap Overlap) MeetTumour(
        string? file, TumourRegions tumour, List<SelectedPatch> selected, int tileSize, double downsample)
    {
        var fraction = new float[1];
        var measured = selected.Select(p =>
        {
            var box = p.Box!.Value;
            tumour.RowFractions(box.Y, tileSize, downsample, [box.X], tileSize * downsample, fraction);
            return p with { TumourFraction = fraction[0] };
        }).ToList();
        return (measured, new TumourOverlap(file, measured.Count, measured.Count(p => p.TumourFraction >= TumourTileFraction), TumourTileFraction));
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

        int tileSize = Slides.TileSize ?? _config.PatchSize?[0] ?? (_config.IsImage ? (int?)null : DefaultEncoderTileSize)
            ?? throw new ArgumentException($"{input}: give --tile-size; config {Path.GetFileName(_config.Source)} has no patch_size.");
        var options = new TilingOptions { Level = Slides.Level, OtsuLevel = Slides.OtsuLevel, TileSize = tileSize, FgPercThresh = Slides.FgPercThresh };
        var tiles = SlideTiler.Tile(slide, options, SlideTiler.Threshold(slide, options.EffectiveOtsuLevel));
        return (options.Level, tileSize, [.. Enumerable.Range(0, tiles.Count).Select(i => ((long)tiles.X[i], (long)tiles.Y[i]))]);
    }
}
