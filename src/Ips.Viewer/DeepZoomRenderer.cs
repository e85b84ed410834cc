using Ips.Slides;
using SkiaSharp;

namespace Ips.Viewer;

/// <summary>
/// Renders the Deep Zoom tiles of a slide from its reader, region by region, never holding more than a few tiles'
/// pixels: a tile is read from the slide level closest above its resolution and scaled down; where no level is
/// near (a slide without a pyramid), it is put together from its four tiles of the next finer Deep Zoom level,
/// each halved, so a low-resolution tile costs time but never memory.
/// </summary>
public static class DeepZoomRenderer
{
    // A tile reads at most this many slide pixels per tile pixel along a side (4 x 4 = 1024 x 1024 for a 256 tile).
    private const double MaxSourceScale = 4;

    /// <summary>JPEG quality of the served tiles: visually lossless for H&amp;E at a quarter of the bytes of PNG.</summary>
    public const int JpegQuality = 90;

    /// <summary>
    /// The tile (<paramref name="column"/>, <paramref name="row"/>) of Deep Zoom level <paramref name="level"/> of
    /// <paramref name="slide"/> as interleaved RGB bytes with its size; null when there is no such tile.
    /// </summary>
    public static (byte[] Rgb, int Width, int Height)? Render(ISlide slide, DeepZoomGrid grid, int level, long column, long row)
    {
        if (grid.Tile(level, column, row) is not { } tile)
        {
            return null;
        }
        return (RenderTile(slide, grid, level, tile.Left, tile.Top, tile.Width, tile.Height), tile.Width, tile.Height);
    }

    /// <summary>Encodes interleaved RGB bytes of <paramref name="width"/> x <paramref name="height"/> as JPEG.</summary>
    public static byte[] EncodeJpeg(byte[] rgb, int width, int height)
    {
        using var bitmap = ToBitmap(rgb, width, height);
        using var data = bitmap.Encode(SKEncodedImageFormat.Jpeg, JpegQuality)
            ?? throw new InvalidOperationException($"SkiaSharp could not encode a {width} x {height} JPEG tile");
        return data.ToArray();
    }

    private static byte[] RenderTile(ISlide slide, DeepZoomGrid grid, int level, long left, long top, int width, int height)
    {
        long scale = grid.Scale(level);
        int slideLevel = BestLevel(slide, scale);
        double downsample = slide.Levels[slideLevel].Downsample;
        if (scale / downsample > MaxSourceScale && level < grid.MaxLevel)
        {
            return FromFinerLevel(slide, grid, level, left, top, width, height);
        }
        int sourceWidth = (int)Math.Ceiling(width * scale / downsample), sourceHeight = (int)Math.Ceiling(height * scale / downsample);
        var source = slide.ReadRegion(slideLevel, left * scale, top * scale, sourceWidth, sourceHeight);
        return sourceWidth == width && sourceHeight == height ? source : Resize(source, sourceWidth, sourceHeight, width, height);
    }

    // The four tiles of the next finer level that cover this one, halved by averaging 2 x 2 pixels.
    private static byte[] FromFinerLevel(ISlide slide, DeepZoomGrid grid, int level, long left, long top, int width, int height)
    {
        var (fineWidth, fineHeight) = grid.LevelSize(level + 1);
        int spanWidth = (int)Math.Min(2L * width, fineWidth - 2 * left), spanHeight = (int)Math.Min(2L * height, fineHeight - 2 * top);
        var fine = new byte[spanWidth * spanHeight * 3];
        for (int dy = 0; dy < spanHeight; dy += grid.TileSize)
        {
            for (int dx = 0; dx < spanWidth; dx += grid.TileSize)
            {
                int w = Math.Min(grid.TileSize, spanWidth - dx), h = Math.Min(grid.TileSize, spanHeight - dy);
                var part = RenderTile(slide, grid, level + 1, 2 * left + dx, 2 * top + dy, w, h);
                for (int y = 0; y < h; y++)
                {
                    Buffer.BlockCopy(part, y * w * 3, fine, ((dy + y) * spanWidth + dx) * 3, w * 3);
                }
            }
        }
        return Halve(fine, spanWidth, spanHeight, width, height);
    }

    // Each output pixel averages the (up to) 2 x 2 fine pixels it covers; an odd last row or column averages fewer.
    private static byte[] Halve(byte[] fine, int fineWidth, int fineHeight, int width, int height)
    {
        var rgb = new byte[width * height * 3];
        for (int y = 0; y < height; y++)
        {
            int y0 = 2 * y, y1 = Math.Min(2 * y + 1, fineHeight - 1);
            for (int x = 0; x < width; x++)
            {
                int x0 = 2 * x, x1 = Math.Min(2 * x + 1, fineWidth - 1);
                for (int c = 0; c < 3; c++)
                {
                    int sum = fine[(y0 * fineWidth + x0) * 3 + c] + fine[(y0 * fineWidth + x1) * 3 + c]
                        + fine[(y1 * fineWidth + x0) * 3 + c] + fine[(y1 * fineWidth + x1) * 3 + c];
                    rgb[(y * width + x) * 3 + c] = (byte)((sum + 2) / 4);
                }
            }
        }
        return rgb;
    }

    // As OpenSlide's best level for a downsample: the coarsest level that is still at least as fine as asked.
    private static int BestLevel(ISlide slide, double downsample)
    {
        int best = 0;
        for (int i = 1; i < slide.Levels.Count; i++)
        {
            if (slide.Levels[i].Downsample <= downsample * (1 + 1e-9))
            {
                best = i;
            }
        }
        return best;
    }

    private static byte[] Resize(byte[] rgb, int width, int height, int toWidth, int toHeight)
    {
        using var source = ToBitmap(rgb, width, height);
        using var resized = source.Resize(new SKImageInfo(toWidth, toHeight, SKColorType.Rgba8888, SKAlphaType.Opaque),
            new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear))
            ?? throw new InvalidOperationException($"SkiaSharp could not resize a {width} x {height} region to {toWidth} x {toHeight}");
        var pixels = resized.GetPixelSpan();
        var result = new byte[toWidth * toHeight * 3];
        for (int y = 0; y < toHeight; y++)
        {
            var row = pixels.Slice(y * resized.RowBytes, toWidth * 4);
            for (int x = 0; x < toWidth; x++)
            {
                result[(y * toWidth + x) * 3] = row[4 * x];
                result[(y * toWidth + x) * 3 + 1] = row[4 * x + 1];
                result[(y * toWidth + x) * 3 + 2] = row[4 * x + 2];
            }
        }
        return result;
    }

    private static SKBitmap ToBitmap(byte[] rgb, int width, int height)
    {
        var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        var pixels = bitmap.GetPixelSpan();
        for (int y = 0; y < height; y++)
        {
            var row = pixels.Slice(y * bitmap.RowBytes, width * 4);
            for (int x = 0; x < width; x++)
            {
                row[4 * x] = rgb[(y * width + x) * 3];
                row[4 * x + 1] = rgb[(y * width + x) * 3 + 1];
                row[4 * x + 2] = rgb[(y * width + x) * 3 + 2];
                row[4 * x + 3] = 255;
            }
        }
        return bitmap;
    }
}
