namespace Ips.Slides;

/// <summary>A small RGB picture of a whole slide.</summary>
/// <param name="Rgb">Interleaved RGB rows, <c>Height * Width * 3</c> bytes.</param>
/// <param name="Width">Width in pixels.</param>
/// <param name="Height">Height in pixels.</param>
/// <param name="Downsample">Level-0 pixels per thumbnail pixel.</param>
public sealed record SlideThumbnail(byte[] Rgb, int Width, int Height, double Downsample);

/// <summary>Thumbnails of slides, made with memory bounded by the thumbnail and one band of a level.</summary>
public static class SlideThumbnails
{
    // Columns read per region: bounds the band read at once to this many pixels times the rows of one output row.
    private const int ChunkWidth = 4096;

    /// <summary>
    /// The whole slide scaled so that its longer side is <paramref name="maxSize"/> pixels (never enlarged): each
    /// thumbnail pixel is the mean of the pixels it covers in the finest level that is still at least as fine as
    /// the thumbnail, read band by band, so a slide with a single huge level works too.
    /// </summary>
    public static SlideThumbnail ReadThumbnail(this ISlide slide, int maxSize)
    {
        ArgumentNullException.ThrowIfNull(slide);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSize, 1);
        var base0 = slide.Levels[0];
        double downsample = Math.Max(1.0, (double)Math.Max(base0.Width, base0.Height) / maxSize);
        int width = (int)Math.Max(1, Math.Round(base0.Width / downsample));
        int height = (int)Math.Max(1, Math.Round(base0.Height / downsample));

        int level = 0;
        for (int i = 1; i < slide.Levels.Count; i++)
        {
            if (slide.Levels[i].Downsample <= downsample)
            {
                level = i;
            }
        }
        var source = slide.Levels[level];
        double scale = downsample / source.Downsample; // source pixels per thumbnail pixel, >= 1

        var rgb = new byte[(long)width * height * 3];
        var sums = new long[(long)width * 3];
        var counts = new int[width];
        for (int row = 0; row < height; row++)
        {
            long top = (long)Math.Floor(row * scale);
            long bottom = Math.Min(source.Height, Math.Max(top + 1, (long)Math.Floor((row + 1) * scale)));
            if (top >= source.Height)
            {
                rgb.AsSpan(row * width * 3, width * 3).Fill(255);
                continue;
            }
            Array.Clear(sums);
            Array.Clear(counts);
            int rows = (int)(bottom - top);
            for (long left = 0; left < source.Width; left += ChunkWidth)
            {
                int columns = (int)Math.Min(ChunkWidth, source.Width - left);
                var band = slide.ReadRegion(level, (long)(left * source.Downsample), (long)(top * source.Downsample), columns, rows);
                for (int j = 0; j < rows; j++)
                {
                    for (int i = 0; i < columns; i++)
                    {
                        int column = (int)Math.Min(width - 1, (long)((left + i) / scale));
                        int at = (j * columns + i) * 3;
                        sums[column * 3] += band[at];
                        sums[column * 3 + 1] += band[at + 1];
                        sums[column * 3 + 2] += band[at + 2];
                        counts[column]++;
                    }
                }
            }
            for (int column = 0; column < width; column++)
            {
                for (int c = 0; c < 3; c++)
                {
                    rgb[((long)row * width + column) * 3 + c] = counts[column] == 0
                        ? (byte)255
                        : (byte)((sums[column * 3 + c] + counts[column] / 2) / counts[column]);
                }
            }
        }
        return new SlideThumbnail(rgb, width, height, downsample);
    }
}
