namespace Ips.Imaging;

/// <summary>
/// Resizes interleaved RGB bytes with a triangle (bilinear) filter whose support grows with the reduction, so a
/// shrunk image averages every source pixel under each output pixel instead of sampling a few (aliasing). It is the
/// filter of PIL's <c>Image.resize(BILINEAR)</c> and of PyTorch's <c>interpolate(mode="bilinear", antialias=True)</c>:
/// output pixel <c>i</c> is centred at source position <c>(i + 0.5) * scale</c> and weighs the source pixels within
/// <c>max(scale, 1)</c> of it by <c>1 - |distance| / max(scale, 1)</c>, normalised to sum 1. Both passes are kept in
/// float and rounded once at the end.
/// </summary>
public static class AntialiasedResize
{
    /// <summary>
    /// <paramref name="rgb"/>, <paramref name="width"/> x <paramref name="height"/> RGB bytes (row-major), resized to
    /// <paramref name="outWidth"/> x <paramref name="outHeight"/>.
    /// </summary>
    public static byte[] Rgb(ReadOnlySpan<byte> rgb, int width, int height, int outWidth, int outHeight)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(outWidth, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(outHeight, 1);
        if (rgb.Length != width * height * 3)
        {
            throw new ArgumentException($"expected {width} x {height} x 3 bytes, got {rgb.Length}", nameof(rgb));
        }
        var columns = Weights(width, outWidth);
        var rows = Weights(height, outHeight);

        // Horizontal pass: [height, outWidth, 3] in float.
        var across = new float[height * outWidth * 3];
        for (int y = 0; y < height; y++)
        {
            var source = rgb.Slice(y * width * 3, width * 3);
            for (int x = 0; x < outWidth; x++)
            {
                var (first, weights) = columns[x];
                float r = 0, g = 0, b = 0;
                for (int k = 0; k < weights.Length; k++)
                {
                    int p = (first + k) * 3;
                    r += weights[k] * source[p];
                    g += weights[k] * source[p + 1];
                    b += weights[k] * source[p + 2];
                }
                int o = (y * outWidth + x) * 3;
                (across[o], across[o + 1], across[o + 2]) = (r, g, b);
            }
        }

        // Vertical pass, rounded to bytes.
        var result = new byte[outHeight * outWidth * 3];
        int stride = outWidth * 3;
        for (int y = 0; y < outHeight; y++)
        {
            var (first, weights) = rows[y];
            for (int i = 0; i < stride; i++)
            {
                float sum = 0;
                for (int k = 0; k < weights.Length; k++)
                {
                    sum += weights[k] * across[(first + k) * stride + i];
                }
                result[y * stride + i] = (byte)Math.Clamp(MathF.Round(sum), 0, 255);
            }
        }
        return result;
    }

    // For each output pixel: the first source pixel it reads and the normalised weights of the source pixels from there.
    private static (int First, float[] Weights)[] Weights(int inSize, int outSize)
    {
        double scale = (double)inSize / outSize;
        double support = Math.Max(scale, 1.0);
        var table = new (int, float[])[outSize];
        for (int i = 0; i < outSize; i++)
        {
            double centre = (i + 0.5) * scale;
            int first = Math.Max((int)(centre - support + 0.5), 0);
            int last = Math.Min((int)(centre + support + 0.5), inSize);
            var weights = new float[last - first];
            double total = 0;
            var raw = new double[weights.Length];
            for (int k = 0; k < raw.Length; k++)
            {
                raw[k] = Math.Max(0, 1 - Math.Abs((first + k + 0.5 - centre) / support));
                total += raw[k];
            }
            for (int k = 0; k < raw.Length; k++)
            {
                weights[k] = (float)(raw[k] / total);
            }
            table[i] = (first, weights);
        }
        return table;
    }
}
