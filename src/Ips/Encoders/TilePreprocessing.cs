using static TorchSharp.torch;

namespace Ips.Encoders;

/// <summary>
/// How a tile becomes an encoder's input, as timm's eval transform does it (<c>resolve_data_config</c> +
/// <c>transforms_imagenet_eval</c>): resized to <see cref="ResizeTo"/> = <c>floor(InputSize / CropPct)</c> with the
/// model's interpolation (antialiased, as PIL resizes), centre-cropped to <see cref="InputSize"/>, normalised with
/// <see cref="Mean"/> and <see cref="Std"/>. A tile already of <see cref="ResizeTo"/> pixels is not resized; without
/// <see cref="Resize"/> (torchvision ResNets and BYOL encoders, as this project has always fed them) tiles are only
/// centre-cropped.
/// </summary>
/// <param name="InputSize">Side of the network's input (<c>input_size</c>).</param>
/// <param name="CropPct">Fraction of the resized tile kept by the centre crop (<c>crop_pct</c>).</param>
/// <param name="Interpolation"><c>bicubic</c> or <c>bilinear</c> (<c>interpolation</c>).</param>
/// <param name="Mean">Per-channel mean subtracted from [0, 1] pixels, or null for no normalisation.</param>
/// <param name="Std">Per-channel standard deviation divided by, or null for no normalisation.</param>
/// <param name="Resize">Whether tiles are resized before the crop; false: centre-cropped only.</param>
public sealed record TilePreprocessing(int InputSize, double CropPct, string Interpolation, float[]? Mean, float[]? Std, bool Resize = true)
{
    /// <summary>The smallest tile side that can be encoded: any when tiles are resized, else the crop's.</summary>
    public int MinimumTileSize => Resize ? 1 : InputSize;

    /// <summary>Side the tile is resized to before the crop: <c>floor(InputSize / CropPct)</c>, as timm computes it.</summary>
    public int ResizeTo => (int)Math.Floor(InputSize / CropPct);

    /// <summary>Refuses values timm's transform would not take, naming <paramref name="source"/>.</summary>
    /// <exception cref="ArgumentException">A size, crop fraction, interpolation or normalisation out of range.</exception>
    public void Validate(string source)
    {
        string? problem =
            InputSize <= 0 ? $"input_size {InputSize} must be positive"
            : CropPct is <= 0 or > 1 ? $"crop_pct {CropPct} must be in (0, 1]"
            : Interpolation is not ("bicubic" or "bilinear") ? $"interpolation '{Interpolation}' is not supported; expected bicubic or bilinear"
            : Mean is { Length: not 3 } || Std is { Length: not 3 } ? "mean and std need 3 values (R, G, B)"
            : Std is not null && Std.Any(value => value <= 0) ? "every std value must be positive"
            : null;
        if (problem is not null)
        {
            throw new ArgumentException($"{source}: {problem}");
        }
    }

    /// <summary>
    /// <paramref name="tiles"/> <c>[B, 3, H, W]</c> in [0, 1] (square, at least <see cref="MinimumTileSize"/>) as the network's input <c>[B, 3, InputSize, InputSize]</c>.
    /// The caller owns the result.
    /// </summary>
    public Tensor Apply(Tensor tiles)
    {
        ArgumentNullException.ThrowIfNull(tiles);
        using var scope = NewDisposeScope();
        var x = tiles;
        if (Resize && (x.shape[2] != ResizeTo || x.shape[3] != ResizeTo))
        {
            x = nn.functional.interpolate(x, size: [ResizeTo, ResizeTo],
                mode: Interpolation == "bicubic" ? InterpolationMode.Bicubic : InterpolationMode.Bilinear, align_corners: false, antialias: true)
                .clamp(0, 1); // PIL resizes 8-bit pixels, so bicubic overshoot is clipped to the pixel range
        }
        // Centre crop as torchvision's CenterCrop: the offset rounds (side - crop) / 2 to the nearest integer.
        var top = (int)Math.Round((x.shape[2] - InputSize) / 2.0);
        var left = (int)Math.Round((x.shape[3] - InputSize) / 2.0);
        x = x.narrow(2, top, InputSize).narrow(3, left, InputSize);
        if (Mean is not null && Std is not null)
        {
            x = (x - tensor(Mean).to(x.device).view(1, 3, 1, 1)) / tensor(Std).to(x.device).view(1, 3, 1, 1);
        }
        return x.MoveToOuterDisposeScope();
    }
}
