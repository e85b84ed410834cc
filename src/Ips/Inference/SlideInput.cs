using System.Globalization;
using Ips.Configuration;
using Ips.Data.OwnImages;
using Ips.Encoders;
using Ips.Features;
using Ips.Patches;
using Ips.Slides;
using Ips.Slides.Annotations;
using Ips.Slides.Tiling;

namespace Ips.Inference;

/// <summary>
/// A whole slide as a prediction input, streamed from disk: its tissue tiles (found now, or read from
/// <see cref="SlideInputOptions.Coords"/>) decoded on demand, and for a feature config embedded on demand by the
/// frozen <see cref="SlideInputOptions.Encoder"/>. The selected tiles are described by their level-0 boxes (and, with
/// <see cref="SlideInputOptions.Annotations"/>, their tumour fractions); the attention is drawn over the thumbnail.
/// </summary>
internal sealed class SlideInput : IPredictionInput
{
    /// <summary>The CAMELYON16 tile side, for feature configs (which have no patch_size) when no --tile-size is given.</summary>
    public const int DefaultEncoderTileSize = 256;

    private const int ThumbnailSide = 1024;

    // A tile counts as tumour when at least half its area lies in annotated tumour.
    private const double TumourTileFraction = 0.5;

    private readonly string _input;
    private readonly SlideTileSource _tiles;
    private readonly (string? File, TumourRegions Regions)? _tumour;

    private SlideInput(string input, SlideTileSource tiles, IPatchSource patches, (string? File, TumourRegions Regions)? tumour)
    {
        _input = input;
        _tiles = tiles;
        Patches = patches;
        _tumour = tumour;
    }

    /// <inheritdoc />
    public IPatchSource Patches { get; }

    /// <summary>
    /// The input over <paramref name="slide"/>, which it owns once this returns (the caller disposes it on an
    /// exception): the tiles <paramref name="options"/> ask for, seen through <paramref name="encoder"/> when given.
    /// </summary>
    /// <exception cref="InvalidDataException">The slide has no tissue tiles.</exception>
    /// <exception cref="ArgumentException">The tiles or options do not fit the config or the encoder.</exception>
    public static SlideInput Open(string input, ISlide slide, IpsConfig config, SlideInputOptions options, TileEncoder? encoder)
    {
        // Annotations are read before the slide is tiled, so that a wrong path fails first.
        (string? File, TumourRegions Regions)? tumour = options.Annotations is { } annotations ? ReadTumour(input, annotations) : null;
        var (sampling, coordinates) = Tiles(slide, input, config, options);
        int tileSize = sampling.TileSize;
        if (coordinates.Count == 0)
        {
            throw new InvalidDataException($"{input}: no tissue tiles found (level {sampling.Level}, tile size {tileSize}); nothing to predict on.");
        }
        if (encoder is not null && tileSize < encoder.MinimumTileSize)
        {
            throw new ArgumentException($"{input}: tiles of {tileSize} pixels are smaller than the encoder's {encoder.Crop}-pixel centre crop; give --tile-size {DefaultEncoderTileSize} (or --coords of such tiles).");
        }
        var tiles = new SlideTileSource(slide, sampling, coordinates, ownsSlide: true);
        // A feature config sees the tiles through the encoder: features [k, D] computed chunk by chunk as IPS reads;
        // an image config trained on slides with normalize: imagenet sees them normalised, as training did.
        IPatchSource patches = encoder is not null ? new EncodedPatchSource(tiles, encoder, options.EncoderBatchSize)
            : config.Normalize == "imagenet" ? new NormalisedPatchSource(tiles)
            : tiles;
        return new SlideInput(input, tiles, patches, tumour);
    }

    /// <inheritdoc />
    public Prediction Describe(Prediction prediction)
    {
        double downsample = _tiles.Sampling.Downsample(_tiles.Slide);
        int side0 = (int)(_tiles.TileSize * downsample + 0.5);
        var selected = prediction.Selected
            .Select(p => p with { Box = new PixelBox(checked((int)_tiles.Coordinates[(int)p.Index].X), checked((int)_tiles.Coordinates[(int)p.Index].Y), side0, side0) })
            .ToList();
        TumourOverlap? overlap = null;
        if (_tumour is var (file, regions))
        {
            (selected, overlap) = MeetTumour(file, regions, selected, _tiles.TileSize, downsample);
        }
        return prediction with { Selected = selected, Tumour = overlap };
    }

    /// <inheritdoc />
    public Prediction DrawAttention(Prediction described, string directory, AttentionLabels labels) =>
        DrawAttention(_input, _tiles.Slide, _tumour?.Regions, described, directory, labels);

    /// <summary>
    /// Writes the attention picture of <paramref name="described"/>, a prediction on <paramref name="slide"/>, into
    /// <paramref name="directory"/> over the slide's thumbnail, with the <paramref name="tumour"/> outlined when given,
    /// and the heat map TIFF beside it (<see cref="HeatMapTiff"/>, on the same scale).
    /// </summary>
    public static Prediction DrawAttention(string input, ISlide slide, TumourRegions? tumour, Prediction described, string directory, AttentionLabels labels)
    {
        string picture = AttentionMap.PathFor(directory, input);
        PixelBox[] boxes = [.. described.Selected.Select(p => p.Box!.Value)];
        float[] scores = [.. described.Selected.Select(p => p.Score)];
        SlideAttentionMap.Render(slide.ReadThumbnail(ThumbnailSide), boxes, scores, picture, labels, slide.MicronsPerPixel?.X, tumour?.Tumour);
        var heatMap = HeatMapTiff.Write(
            HeatMapTiff.PathFor(directory, input), slide.Levels[0].Width, slide.Levels[0].Height, slide.MicronsPerPixel?.X, boxes, scores,
            labels.ScaleMax ?? scores.Max());
        return described with { AttentionMap = picture, HeatMap = heatMap };
    }

    /// <summary>The annotated tumour of <paramref name="input"/> under <paramref name="annotations"/> (a file or a folder of NAME.xml); null without annotations.</summary>
    public static TumourRegions? TumourOf(string input, string? annotations) => annotations is { } given ? ReadTumour(input, given).Regions : null;

    /// <inheritdoc />
    /// <remarks>The encoded source disposes the tiles, and they the slide.</remarks>
    public void Dispose() => Patches.Dispose();

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

    // The tiles to predict on: those of --coords, or the tissue tiles found now at --level or at --mpp / --magnification
    // (the tiler of `ips slides tile`, so the tiles are those that command would cut).
    private static (TileSampling Sampling, IReadOnlyList<(long X, long Y)> Coordinates) Tiles(ISlide slide, string input, IpsConfig config, SlideInputOptions options)
    {
        if (options.Coords is { } path)
        {
            var coords = TileCoordsFile.Read(path);
            if (options.TileSize is { } size && size != coords.Info.PatchSize)
            {
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                    $"--coords {path}: tiles of {coords.Info.PatchSize} pixels, but --tile-size {size} was given."));
            }
            return (coords.Info.Sampling(slide),
                [.. Enumerable.Range(0, coords.Count).Select(i => ((long)coords.Coords[i, 0], (long)coords.Coords[i, 1]))]);
        }

        int tileSize = options.TileSize ?? config.PatchSize?[0] ?? (config.IsImage ? (int?)null : DefaultEncoderTileSize)
            ?? throw new ArgumentException($"{input}: give --tile-size; config {Path.GetFileName(config.Source)} has no patch_size.");
        var tiling = new TilingOptions
        {
            Level = options.Level, OtsuLevel = options.OtsuLevel, TileSize = tileSize, FgPercThresh = options.FgPercThresh,
            TargetMpp = options.TargetMpp, TargetMagnification = options.TargetMagnification, Level0Mpp = options.Level0Mpp,
        };
        var tiles = SlideTiler.Tile(slide, tiling, SlideTiler.Threshold(slide, tiling.EffectiveOtsuLevel));
        return (tiles.Grid.Sampling, [.. Enumerable.Range(0, tiles.Count).Select(i => ((long)tiles.X[i], (long)tiles.Y[i]))]);
    }
}
