namespace Ips.Slides;

/// <summary>
/// A small picture of a whole slide: interleaved RGB bytes of <paramref name="Width"/> x <paramref name="Height"/>
/// pixels, each the mean colour of the level-0 area it covers; one thumbnail pixel spans
/// <c>1 / <paramref name="Scale"/></c> level-0 pixels along each axis.
/// </summary>
/// <param name="Width">Width in pixels.</param>
/// <param name="Height">Height in pixels.</param>
/// <param name="Scale">Thumbnail pixels per level-0 pixel.</param>
/// <param name="Rgb">Interleaved RGB, row-major.</param>
public sealed record SlideThumbnail(int Width, int Height, double Scale, byte[] Rgb)
{
    private const int BlockSize = 2048;

    /// <summary>The thumbnail size for a slide: its longer side becomes <paramref name="maxSide"/> (never upscaled).</summary>
    public static (int Width, int Height, double Scale) SizeFor(ISlide slide, int maxSide)
    {
        ArgumentNullException.ThrowIfNull(slide);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxSide);
        var level0 = slide.Levels[0];
        double scale = Math.Min(1.0, (double)maxSide / Math.Max(level0.Width, level0.Height));
        return (Math.Max(1, (int)Math.Round(level0.Width * scale)), Math.Max(1, (int)Math.Round(level0.Height * scale)), scale);
    }

    /// <summary>
    /// Reads the thumbnail of <paramref name="slide"/> with its longer side <paramref name="maxSide"/> pixels, from the
    /// coarsest level that still has at least as many pixels as the thumbnail, read in blocks and averaged: memory
    /// stays bounded even for a slide with a single, huge level.
    /// </summary>
    public static SlideThumbnail Read(ISlide slide, int maxSide, CancellationToken cancel = default)
    {
        var (width, height, scale) = SizeFor(slide, maxSide);
        int level = 0;
        for (int l = slide.Levels.Count - 1; l > 0; l--)
        {
            if (slide.Levels[l].Width >= width && slide.Levels[l].Height >= height)
            {
                level = l;
                break;
            }
        }

        var source = slide.Levels[level];
        // Each source pixel adds to the thumbnail pixel under its centre.
        double toThumb = source.Downsample * scale;
        var sums = new long[(long)width * height * 3];
        var counts = new int[(long)width * height];
        for (long top = 0; top < source.Height; top += BlockSize)
        {
            int blockHeight = (int)Math.Min(BlockSize, source.Height - top);
            for (long left = 0; left < source.Width; left += BlockSize)
            {
                cancel.ThrowIfCancellationRequested();
                int blockWidth = (int)Math.Min(BlockSize, source.Width - left);
                var rgb = slide.ReadRegion(level, LevelGeometry.ToLevel0(left, source.Downsample), LevelGeometry.ToLevel0(top, source.Downsample), blockWidth, blockHeight);
                for (int y = 0; y < blockHeight; y++)
                {
                    int ty = Math.Min(height - 1, (int)((top + y + 0.5) * toThumb));
                    for (int x = 0; x < blockWidth; x++)
                    {
                        int tx = Math.Min(width - 1, (int)((left + x + 0.5) * toThumb));
                        long t = (long)ty * width + tx;
                        int s = 3 * (y * blockWidth + x);
                        sums[3 * t] += rgb[s];
                        sums[3 * t + 1] += rgb[s + 1];
                        sums[3 * t + 2] += rgb[s + 2];
                        counts[t]++;
                    }
                }
            }
        }

        var pixels = new byte[sums.Length];
        for (long t = 0; t < counts.Length; t++)
        {
            for (int c = 0; c < 3; c++)
            {
                // A thumbnail pixel no source pixel centre fell in (upscaled edge) shows white glass.
                pixels[3 * t + c] = counts[t] == 0 ? (byte)255 : (byte)((sums[3 * t + c] + counts[t] / 2) / counts[t]);
            }
        }
        return new SlideThumbnail(width, height, scale, pixels);
    }
}
