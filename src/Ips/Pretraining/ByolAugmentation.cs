using Ips.Encoders;
using Ips.Training;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Ips.Pretraining;

/// <summary>
/// The two views of BYOL pre-training on pathology tiles, computed on whole batches of tensors (on the device the
/// tiles are on). Per view and tile, in this order:
/// <list type="number">
/// <item>geometry, one bilinear resampling: a random resized crop (area fraction in <c>crop_scale</c>, aspect ratio in
/// [3/4, 4/3], drawn as torchvision's <c>RandomResizedCrop</c> with its ten tries and centre-crop fallback) to
/// <c>image_size</c>, a random rotation by 0/90/180/270 degrees and random horizontal and vertical flips (p 0.5 each);</item>
/// <item>colour jitter with p <c>jitter_p</c>: brightness, contrast, saturation factors in [1 - s, 1 + s] and a hue
/// shift in [-h, h], applied in a random order (torchvision's <c>ColorJitter</c>; hue through RGB -> HSV -> RGB);</item>
/// <item>greyscale with p <c>grey_p</c> (0.2989 R + 0.587 G + 0.114 B in all three channels);</item>
/// <item>Gaussian blur (kernel <c>blur_kernel</c>, sigma in <c>blur_sigma</c>, reflect padding) with p <c>blur_p</c> of the view;</item>
/// <item>solarisation (values >= 0.5 become 1 - value) with p <c>solarize_p</c> of the view;</item>
/// <item>ImageNet normalisation (<see cref="ImageNetNormalisation"/>), as torchvision's weights.</item>
/// </list>
/// Every random draw comes from a <see cref="Random"/> seeded from the caller's seed and the view, so a step's views
/// are reproducible (exact resume). The crop resamples with bilinear interpolation without antialiasing, unlike
/// torchvision's PIL resize; the crops here shrink a tile by at most the tile-to-view ratio, where the two agree closely.
/// </summary>
public sealed class ByolAugmentation
{
    private static readonly double[] LogRatio = [Math.Log(3.0 / 4.0), Math.Log(4.0 / 3.0)];

    private readonly ByolConfig _config;

    /// <summary>Creates the augmentation of <paramref name="config"/>.</summary>
    public ByolAugmentation(ByolConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        _config = config;
    }

    /// <summary>Both views of <paramref name="tiles"/> <c>[B, 3, H, W]</c> in [0, 1], each <c>[B, 3, S, S]</c>, normalised.</summary>
    public (Tensor View1, Tensor View2) Views(Tensor tiles, long seed) => (View(tiles, 0, seed), View(tiles, 1, seed));

    /// <summary>
    /// View <paramref name="view"/> (0 or 1) of <paramref name="tiles"/> <c>[B, 3, H, W]</c> in [0, 1]:
    /// <c>[B, 3, S, S]</c>, ImageNet-normalised unless <paramref name="normalise"/> is false (then in [0, 1]).
    /// </summary>
    public Tensor View(Tensor tiles, int view, long seed, bool normalise = true)
    {
        ArgumentNullException.ThrowIfNull(tiles);
        if (tiles.dim() != 4 || tiles.shape[1] != 3)
        {
            throw new ArgumentException($"tiles must be [B, 3, H, W], got [{string.Join(", ", tiles.shape)}]", nameof(tiles));
        }
        ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)view, 1u, nameof(view));
        var random = new Random((int)(Seeds.Mix(seed, view, 0xA06) & int.MaxValue));
        using var scope = NewDisposeScope();
        var x = Geometry(tiles, random);
        x = ColorJitter(x, random);
        x = Greyscale(x, random);
        x = Blur(x, random, _config.BlurP[view]);
        x = Solarize(x, random, _config.SolarizeP[view]);
        if (normalise)
        {
            x = ImageNetNormalisation.Apply(x);
        }
        return x.MoveToOuterDisposeScope();
    }

    /// <summary>Crop, rotation and flips as one affine resampling to <c>[B, 3, S, S]</c>.</summary>
    internal Tensor Geometry(Tensor tiles, Random random)
    {
        var (batch, height, width, size) = ((int)tiles.shape[0], (int)tiles.shape[2], (int)tiles.shape[3], _config.ImageSize);
        var theta = new float[batch * 6];
        for (var b = 0; b < batch; b++)
        {
            var (top, left, h, w) = CropBox(height, width, random);
            // Dihedral map of the output's normalised coordinates (u, v): k quarter turns, then the flips.
            var (a00, a01, a10, a11) = (1.0, 0.0, 0.0, 1.0);
            for (var k = random.Next(4); k > 0; k--)
            {
                (a00, a01, a10, a11) = (-a10, -a11, a00, a01);
            }
            if (random.NextDouble() < 0.5) (a00, a01) = (-a00, -a01);
            if (random.NextDouble() < 0.5) (a10, a11) = (-a10, -a11);
            // Output pixel centres in [-1, 1] map onto the crop box (align_corners false): x_in = u' w / W + (2 left + w) / W - 1.
            var (sx, sy) = ((double)w / width, (double)h / height);
            var row = theta.AsSpan(b * 6, 6);
            row[0] = (float)(sx * a00);
            row[1] = (float)(sx * a01);
            row[2] = (float)((2.0 * left + w) / width - 1);
            row[3] = (float)(sy * a10);
            row[4] = (float)(sy * a11);
            row[5] = (float)((2.0 * top + h) / height - 1);
        }
        using var thetaTensor = tensor(theta, [batch, 2, 3]).to(tiles.device);
        using var grid = F.affine_grid(thetaTensor, [batch, 3, size, size], align_corners: false); // [B, S, S, 2]
        return F.grid_sample(tiles, grid, GridSampleMode.Bilinear, GridSamplePaddingMode.Border, align_corners: false); // [B, 3, S, S]
    }

    /// <summary>torchvision's <c>RandomResizedCrop.get_params</c>: top, left, height, width of the crop.</summary>
    internal (int Top, int Left, int Height, int Width) CropBox(int height, int width, Random random)
    {
        var area = (double)height * width;
        var (low, high) = (_config.CropScale[0], _config.CropScale[1]);
        for (var attempt = 0; attempt < 10; attempt++)
        {
            var targetArea = area * (low + (high - low) * random.NextDouble());
            var aspect = Math.Exp(LogRatio[0] + (LogRatio[1] - LogRatio[0]) * random.NextDouble());
            var w = (int)Math.Round(Math.Sqrt(targetArea * aspect));
            var h = (int)Math.Round(Math.Sqrt(targetArea / aspect));
            if (w > 0 && w <= width && h > 0 && h <= height)
            {
                return (random.Next(height - h + 1), random.Next(width - w + 1), h, w);
            }
        }
        var ratio = (double)width / height;
        var (ch, cw) = ratio < 3.0 / 4.0 ? ((int)Math.Round(width / (3.0 / 4.0)), width)
            : ratio > 4.0 / 3.0 ? (height, (int)Math.Round(height * (4.0 / 3.0)))
            : (height, width);
        return ((height - ch) / 2, (width - cw) / 2, ch, cw);
    }

    /// <summary>torchvision's <c>ColorJitter</c> with p <c>jitter_p</c>: the four adjustments in a random order per tile.</summary>
    internal Tensor ColorJitter(Tensor x, Random random)
    {
        var batch = (int)x.shape[0];
        var (bs, cs, ss, hs) = (_config.Jitter[0], _config.Jitter[1], _config.Jitter[2], _config.Jitter[3]);
        var factors = new float[4][];
        for (var op = 0; op < 4; op++) factors[op] = new float[batch];
        var orders = new int[batch][];
        for (var b = 0; b < batch; b++)
        {
            if (!(random.NextDouble() < _config.JitterP))
            {
                continue;
            }
            int[] order = [0, 1, 2, 3];
            random.Shuffle(order);
            orders[b] = order;
            factors[0][b] = (float)Uniform(random, Math.Max(0, 1 - bs), 1 + bs);
            factors[1][b] = (float)Uniform(random, Math.Max(0, 1 - cs), 1 + cs);
            factors[2][b] = (float)Uniform(random, Math.Max(0, 1 - ss), 1 + ss);
            factors[3][b] = (float)Uniform(random, -hs, hs);
        }
        var result = x.clone();
        for (var position = 0; position < 4; position++)
        {
            for (var op = 0; op < 4; op++)
            {
                var chosen = Enumerable.Range(0, batch).Where(b => orders[b] is { } o && o[position] == op).Select(b => (long)b).ToArray();
                if (chosen.Length == 0)
                {
                    continue;
                }
                using var index = tensor(chosen).to(x.device);
                using var factor = tensor(chosen.Select(b => factors[op][b]).ToArray()).to(x.device).view(-1, 1, 1, 1); // [n, 1, 1, 1]
                using var subset = result.index_select(0, index); // [n, 3, S, S]
                using var adjusted = op switch
                {
                    0 => AdjustBrightness(subset, factor),
                    1 => AdjustContrast(subset, factor),
                    2 => AdjustSaturation(subset, factor),
                    _ => AdjustHue(subset, factor),
                };
                result.index_copy_(0, index, adjusted);
            }
        }
        return result;
    }

    /// <summary>Blend with black: <c>clamp(f x, 0, 1)</c>.</summary>
    internal static Tensor AdjustBrightness(Tensor x, Tensor factor) => (x * factor).clamp(0, 1);

    /// <summary>Blend with the mean grey level of each image: <c>clamp(f x + (1 - f) mean(grey(x)), 0, 1)</c>.</summary>
    internal static Tensor AdjustContrast(Tensor x, Tensor factor)
    {
        using var mean = Grey(x).mean([1, 2, 3], keepdim: true); // [n, 1, 1, 1]
        return (factor * x + (1 - factor) * mean).clamp(0, 1);
    }

    /// <summary>Blend with the image's grey version: <c>clamp(f x + (1 - f) grey(x), 0, 1)</c>.</summary>
    internal static Tensor AdjustSaturation(Tensor x, Tensor factor)
    {
        using var grey = Grey(x); // [n, 1, S, S]
        return (factor * x + (1 - factor) * grey).clamp(0, 1);
    }

    /// <summary>Shifts the hue: RGB -> HSV, <c>h = (h + f) mod 1</c>, HSV -> RGB.</summary>
    internal static Tensor AdjustHue(Tensor x, Tensor factor)
    {
        using var scope = NewDisposeScope();
        var hsv = RgbToHsv(x);
        var hue = (hsv[.., 0..1] + factor).remainder(1.0);
        return HsvToRgb(cat([hue, hsv[.., 1..3]], 1)).MoveToOuterDisposeScope();
    }

    /// <summary>RGB <c>[n, 3, H, W]</c> in [0, 1] to HSV, hue in [0, 1).</summary>
    internal static Tensor RgbToHsv(Tensor rgb)
    {
        using var scope = NewDisposeScope();
        var (r, g, b) = (rgb[.., 0], rgb[.., 1], rgb[.., 2]); // [n, H, W]
        var max = rgb.amax([1]);
        var min = rgb.amin([1]);
        var grey = max == min;
        var chroma = max - min;
        var one = ones_like(max);
        var saturation = chroma / where(grey, one, max);
        var divisor = where(grey, one, chroma);
        var (rc, gc, bc) = ((max - r) / divisor, (max - g) / divisor, (max - b) / divisor);
        // The sector follows the largest channel, red first on ties.
        var isR = max == r;
        var isG = (max == g).logical_and(isR.logical_not());
        var isB = isR.logical_or(isG).logical_not();
        var h = isR * (bc - gc) + isG * (2.0 + rc - bc) + isB * (4.0 + gc - rc);
        var hue = (h / 6.0 + 1.0).fmod(1.0);
        return stack([hue, saturation, max], 1).MoveToOuterDisposeScope(); // [n, 3, H, W]
    }

    /// <summary>HSV <c>[n, 3, H, W]</c> to RGB in [0, 1].</summary>
    internal static Tensor HsvToRgb(Tensor hsv)
    {
        using var scope = NewDisposeScope();
        var (h, s, v) = (hsv[.., 0], hsv[.., 1], hsv[.., 2]); // [n, H, W]
        var sector = (h * 6.0).floor();
        var f = h * 6.0 - sector;
        var i = sector.to(ScalarType.Int64).remainder(6);
        var p = (v * (1.0 - s)).clamp(0, 1);
        var q = (v * (1.0 - s * f)).clamp(0, 1);
        var t = (v * (1.0 - s * (1.0 - f))).clamp(0, 1);
        // Per sector k, (R, G, B) = (v,t,p), (q,v,p), (p,v,t), (p,q,v), (t,p,v), (v,p,q).
        Tensor[] red = [v, q, p, p, t, v], green = [t, v, v, q, p, p], blue = [p, p, t, v, v, q];
        Tensor Pick(Tensor[] options)
        {
            var channel = zeros_like(v);
            for (var k = 0; k < 6; k++)
            {
                channel = where(i == k, options[k], channel);
            }
            return channel;
        }
        return stack([Pick(red), Pick(green), Pick(blue)], 1).MoveToOuterDisposeScope(); // [n, 3, H, W]
    }

    /// <summary>torchvision's grey level of RGB <c>[n, 3, H, W]</c>: <c>[n, 1, H, W]</c>.</summary>
    internal static Tensor Grey(Tensor x) =>
        (0.2989 * x[.., 0..1] + 0.587 * x[.., 1..2] + 0.114 * x[.., 2..3]);

    /// <summary>Greyscale in all three channels with p <c>grey_p</c> per tile.</summary>
    internal Tensor Greyscale(Tensor x, Random random)
    {
        var chosen = Draw(x, random, _config.GreyP);
        if (chosen.Length == 0)
        {
            return x;
        }
        using var mask = Mask(chosen, x);
        using var grey = Grey(x).expand_as(x);
        return where(mask, grey, x);
    }

    /// <summary>Gaussian blur with p <paramref name="p"/> per tile, sigma uniform in <c>blur_sigma</c>, separable, reflect-padded.</summary>
    internal Tensor Blur(Tensor x, Random random, double p)
    {
        var chosen = Draw(x, random, p);
        var sigmas = chosen.Select(_ => Uniform(random, _config.BlurSigma[0], _config.BlurSigma[1])).ToArray();
        if (chosen.Length == 0)
        {
            return x;
        }
        using var scope = NewDisposeScope();
        var (n, channels, height, width) = (chosen.Length, (int)x.shape[1], (int)x.shape[2], (int)x.shape[3]);
        var kernel = _config.BlurKernel;
        var half = kernel / 2;
        var weights = new float[n * kernel];
        for (var j = 0; j < n; j++)
        {
            var row = weights.AsSpan(j * kernel, kernel);
            double sum = 0;
            for (var k = 0; k < kernel; k++)
            {
                var offset = k - half;
                sum += row[k] = (float)Math.Exp(-offset * offset / (2 * sigmas[j] * sigmas[j]));
            }
            for (var k = 0; k < kernel; k++)
            {
                row[k] = (float)(row[k] / sum);
            }
        }
        var index = tensor(chosen.Select(b => (long)b).ToArray()).to(x.device);
        // One depthwise filter per (tile, channel): [n * C, 1, K, 1] down the rows, then [n * C, 1, 1, K] along them.
        var kernels = tensor(weights, [n, 1, kernel]).to(x.device).expand(n, channels, kernel).reshape(n * channels, 1, kernel);
        var subset = x.index_select(0, index); // [n, C, H, W]
        var padded = F.pad(subset, [half, half, half, half], PaddingModes.Reflect).reshape(1, n * channels, height + 2 * half, width + 2 * half);
        var blurred = F.conv2d(padded, kernels.unsqueeze(3), groups: n * channels);
        blurred = F.conv2d(blurred, kernels.unsqueeze(2), groups: n * channels).reshape(n, channels, height, width);
        return x.index_copy(0, index, blurred).MoveToOuterDisposeScope();
    }

    /// <summary>Solarisation (values >= 0.5 become 1 - value) with p <paramref name="p"/> per tile.</summary>
    internal static Tensor Solarize(Tensor x, Random random, double p)
    {
        var chosen = Draw(x, random, p);
        if (chosen.Length == 0)
        {
            return x;
        }
        using var scope = NewDisposeScope();
        var mask = Mask(chosen, x).logical_and(x >= 0.5);
        return where(mask, 1 - x, x).MoveToOuterDisposeScope();
    }

    private static int[] Draw(Tensor x, Random random, double p) =>
        [.. Enumerable.Range(0, (int)x.shape[0]).Where(_ => random.NextDouble() < p)];

    private static Tensor Mask(int[] chosen, Tensor x)
    {
        var flags = new bool[x.shape[0]];
        foreach (var b in chosen) flags[b] = true;
        using var mask = tensor(flags).to(x.device);
        return mask.view(-1, 1, 1, 1);
    }

    private static double Uniform(Random random, double low, double high) => low + (high - low) * random.NextDouble();
}
