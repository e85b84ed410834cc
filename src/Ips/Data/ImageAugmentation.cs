using static TorchSharp.torch;

namespace Ips.Data;

/// <summary>
/// The training-time augmentations of image data sets, on images <c>[C, H, W]</c> in <c>[0, 1]</c> before
/// normalisation: flips, rotations by multiples of 90 degrees, torchvision's colour jitter and a random
/// translation. The traffic signs use the jitter and translation with the paper's strengths; your own images
/// (docs/own-data.md) choose them with the <c>aug_*</c> config keys. Each returns a new tensor.
/// </summary>
public static class ImageAugmentation
{
    /// <summary>A horizontal flip with probability 1/2, then a vertical flip with probability 1/2.</summary>
    public static Tensor Flip(Tensor image, Random random)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(random);
        var horizontal = random.Next(2) == 1;
        var vertical = random.Next(2) == 1;
        var dims = new List<long>();
        if (vertical) dims.Add(1);
        if (horizontal) dims.Add(2);
        return dims.Count == 0 ? image.clone() : image.flip([.. dims]);
    }

    /// <summary>A rotation by 0, 90, 180 or 270 degrees, each with probability 1/4; 90 and 270 swap height and width.</summary>
    public static Tensor Rotate90(Tensor image, Random random)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(random);
        var turns = random.Next(4);
        return turns == 0 ? image.clone() : image.rot90(turns, (1, 2)).contiguous();
    }

    /// <summary>
    /// Brightness, contrast, saturation (factors in [1 - s, 1 + s]) and hue (shift in [-s, s] turns) in random
    /// order, as torchvision's <c>ColorJitter(s, s, s, s)</c>; a grey image gets brightness and contrast only.
    /// </summary>
    public static Tensor ColorJitter(Tensor image, double strength, Random random)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(random);
        using var scope = NewDisposeScope();
        double Factor() => 1 - strength + 2 * strength * random.NextDouble();
        var (brightness, contrast, saturation) = (Factor(), Factor(), Factor());
        var hue = -strength + 2 * strength * random.NextDouble();
        var colour = image.shape[0] == 3;
        foreach (var op in Enumerable.Range(0, 4).OrderBy(_ => random.Next()).ToList())
        {
            image = op switch
            {
                0 => image.mul(brightness).clamp(0, 1),
                1 => Blend(image, Grey(image).mean(), contrast),
                2 when colour => Blend(image, Grey(image), saturation),
                3 when colour => ShiftHue(image, hue),
                _ => image,
            };
        }
        return image.MoveToOuterDisposeScope(); // brightness and contrast always run, so this is a new tensor
    }

    /// <summary>
    /// A shift by whole pixels, uniformly up to <paramref name="maxX"/> pixels left or right and <paramref name="maxY"/>
    /// up or down; the uncovered border is black.
    /// </summary>
    public static Tensor Translate(Tensor image, double maxX, double maxY, Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        var dx = (int)Math.Round(-maxX + 2 * maxX * random.NextDouble());
        var dy = (int)Math.Round(-maxY + 2 * maxY * random.NextDouble());
        return Shift(image, dx, dy);
    }

    /// <summary><paramref name="image"/> moved right by <paramref name="dx"/> and down by <paramref name="dy"/> pixels, black where uncovered.</summary>
    public static Tensor Shift(Tensor image, int dx, int dy)
    {
        ArgumentNullException.ThrowIfNull(image);
        int height = (int)image.shape[1], width = (int)image.shape[2];
        var shifted = zeros_like(image);
        int w = width - Math.Abs(dx), h = height - Math.Abs(dy);
        if (w > 0 && h > 0)
        {
            shifted.narrow(1, Math.Max(dy, 0), h).narrow(2, Math.Max(dx, 0), w)
                .copy_(image.narrow(1, Math.Max(-dy, 0), h).narrow(2, Math.Max(-dx, 0), w));
        }
        return shifted;
    }

    // Luma as torchvision's rgb_to_grayscale: [1, H, W]; a grey image is its own.
    private static Tensor Grey(Tensor image) => image.shape[0] == 1 ? image.alias() :
        image[0].mul(0.2989).add(image[1].mul(0.587)).add(image[2].mul(0.114)).unsqueeze(0);

    private static Tensor Blend(Tensor image, Tensor other, double factor) =>
        image.mul(factor).add(other.mul(1 - factor)).clamp(0, 1);

    // RGB -> HSV, hue + shift (mod 1), HSV -> RGB, as torchvision's adjust_hue on tensors.
    private static Tensor ShiftHue(Tensor image, double shift)
    {
        var (r, g, b) = (image[0], image[1], image[2]);
        var max = image.amax([0]);
        var min = image.amin([0]);
        var chroma = max.sub(min);
        var s = chroma.div(where(max.eq(0), ones_like(max), max));
        var c = where(chroma.eq(0), ones_like(chroma), chroma);
        var (rc, gc, bc) = (max.sub(r).div(c), max.sub(g).div(c), max.sub(b).div(c));
        var isR = max.eq(r);
        var isG = max.eq(g).logical_and(isR.logical_not());
        var isB = isR.logical_or(isG).logical_not();
        var h = bc.sub(gc).mul(isR)
            .add(rc.sub(bc).add(2).mul(isG))
            .add(gc.sub(rc).add(4).mul(isB))
            .div(6).add(1).remainder(1)
            .add(shift).remainder(1);

        var h6 = h.mul(6);
        var sector = h6.floor();
        var f = h6.sub(sector);
        var i = sector.remainder(6);
        var v = max;
        var p = v.mul(s.neg().add(1));
        var q = v.mul(s.mul(f).neg().add(1));
        var t = v.mul(s.mul(f.neg().add(1)).neg().add(1));
        Tensor Pick(Tensor a0, Tensor a1, Tensor a2, Tensor a3, Tensor a4, Tensor a5) =>
            a0.mul(i.eq(0)).add(a1.mul(i.eq(1))).add(a2.mul(i.eq(2))).add(a3.mul(i.eq(3))).add(a4.mul(i.eq(4))).add(a5.mul(i.eq(5)));
        return stack([Pick(v, q, p, p, t, v), Pick(t, v, v, q, p, p), Pick(p, p, t, v, v, q)]);
    }
}
