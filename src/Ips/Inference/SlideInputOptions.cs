using Ips.Slides;

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

    /// <summary>
    /// Tiles at this many microns per pixel instead of at <see cref="Level"/> (<c>--mpp</c>), cut as <c>ips slides
    /// tile --mpp</c> cuts them (<see cref="Slides.Tiling.TilingOptions.TargetMpp"/>); <see cref="TileSize"/> is then in
    /// pixels of that resolution.
    /// </summary>
    public double? TargetMpp { get; init; }

    /// <summary>Tiles at this objective magnification instead of at <see cref="Level"/> (<c>--magnification</c>).</summary>
    public double? TargetMagnification { get; init; }

    /// <summary>Microns per pixel of level 0 for slides whose file does not record it (<c>--mpp-level0</c>).</summary>
    public double? Level0Mpp { get; init; }

    /// <summary>The level of the Otsu threshold; null: <see cref="Level"/>.</summary>
    public int? OtsuLevel { get; init; }

    /// <summary>Tile side in pixels of the level; null: the config's patch size.</summary>
    public int? TileSize { get; init; }

    /// <summary>Least tissue fraction of a kept tile.</summary>
    public double FgPercThresh { get; init; } = 0.01;

    /// <summary>Which reader opens slides.</summary>
    public SlideReaderKind Reader { get; init; }

    /// <summary>
    /// For a feature config (<c>is_image: false</c>): the frozen tile encoder (<c>byol.ckpt</c>, a torchvision
    /// ResNet <c>.pth</c>, a model folder or a preset, as <c>ips slides features</c> takes) that embeds a slide's tiles on demand.
    /// </summary>
    public string? Encoder { get; init; }

    /// <summary>With a preset <see cref="Encoder"/>: its weights file or folder (<c>--encoder-weights</c>).</summary>
    public string? EncoderWeights { get; init; }

    /// <summary>A vision transformer <see cref="Encoder"/>'s pooling instead of its config's (<c>--pool</c>).</summary>
    public string? Pool { get; init; }

    /// <summary>How tiles are normalised for <see cref="Encoder"/>: <c>auto</c>, <c>imagenet</c> or <c>none</c>.</summary>
    public string Normalisation { get; init; } = "auto";

    /// <summary>Tiles embedded at once by <see cref="Encoder"/>.</summary>
    public int EncoderBatchSize { get; init; } = 64;

    /// <summary>ASAP XML lesion annotations: one file, or a folder of <c>NAME.xml</c> per slide.</summary>
    public string? Annotations { get; init; }
}
