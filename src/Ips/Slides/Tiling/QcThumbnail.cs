using Ips.IO;
using Ips.Imaging;
using Ips.Slides.Annotations;
using SkiaSharp;

namespace Ips.Slides.Tiling;

/// <summary>
/// The quality-control picture of a tiled slide: the slide's thumbnail with the tissue mask tinted green (in proportion
/// to the tissue under each pixel, light enough that the stain shows through), the kept tiles outlined in blue (filled
/// lightly where a tile is too small to outline), tumour polygons outlined in red and excluded areas in yellow; framed
/// by a title, the tint's colour bar, a scale bar where the slide records its pixel size, and a legend.
/// </summary>
public static class QcThumbnail
{
    private static readonly SKColor TissueTint = new(0, 200, 60);
    private static readonly SKColor TileColour = new(20, 60, 255);
    private static readonly SKColor TumourColour = new(230, 0, 0);
    private static readonly SKColor ExclusionColour = new(250, 200, 0);
    private const float TissueAlpha = 0.25f;

    /// <summary>
    /// Writes the picture to <paramref name="path"/> as PNG, atomically, under the <paramref name="title"/> lines;
    /// <paramref name="micronsPerPixel"/> is the slide's level-0 pixel size where it records one.
    /// </summary>
    public static void Write(
        string path, SlideThumbnail thumbnail, MaskThumbnail mask, TileSet tiles, TumourRegions tumour,
        IReadOnlyList<string>? title = null, double? micronsPerPixel = null)
    {
        ArgumentNullException.ThrowIfNull(thumbnail);
        ArgumentNullException.ThrowIfNull(mask);
        ArgumentNullException.ThrowIfNull(tiles);
        ArgumentNullException.ThrowIfNull(tumour);
        if (mask.Width != thumbnail.Width || mask.Height != thumbnail.Height)
        {
            throw new ArgumentException($"mask {mask.Width} x {mask.Height} does not match the thumbnail {thumbnail.Width} x {thumbnail.Height}");
        }

        using var bitmap = ToBitmap(thumbnail, mask);
        using (var canvas = new SKCanvas(bitmap))
        {
            DrawTiles(canvas, tiles, (1 / thumbnail.Downsample));
            DrawPolygons(canvas, tumour.Tumour, TumourColour, (1 / thumbnail.Downsample));
            DrawPolygons(canvas, tumour.Exclusions, ExclusionColour, (1 / thumbnail.Downsample));
        }
        // The tint as it looks over white glass, by the fraction of tissue under the pixel.
        static SKColor Tint(float t) =>
            new(Mix(255, TissueTint.Red, TissueAlpha * t), Mix(255, TissueTint.Green, TissueAlpha * t), Mix(255, TissueTint.Blue, TissueAlpha * t));
        var frame = new PictureFrame
        {
            Title = title ?? [],
            Bar = new ColourBar("tissue fraction under a pixel (green tint)", 1, Tint),
            MicronsPerPixel = micronsPerPixel * thumbnail.Downsample,
            Legend =
            [
                new LegendEntry(Tint(1), "tissue", Outline: false), new LegendEntry(TileColour, "kept tile", Outline: true),
                new LegendEntry(TumourColour, "tumour", Outline: true), new LegendEntry(ExclusionColour, "excluded", Outline: true),
            ],
        };
        using var framed = frame.Compose(bitmap);
        AtomicFile.Write(path, temporary => ImageFile.WritePng(framed, temporary));
    }

    /// <summary>The thumbnail as an opaque RGBA bitmap, optionally with the tissue mask blended in.</summary>
    internal static unsafe SKBitmap ToBitmap(SlideThumbnail thumbnail, MaskThumbnail? mask = null)
    {
        var bitmap = new SKBitmap(new SKImageInfo(thumbnail.Width, thumbnail.Height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        for (int y = 0; y < thumbnail.Height; y++)
        {
            byte* row = (byte*)bitmap.GetPixels() + (long)y * bitmap.RowBytes;
            for (int x = 0; x < thumbnail.Width; x++)
            {
                long s = 3L * ((long)y * thumbnail.Width + x);
                float tint = mask is null ? 0 : TissueAlpha * mask.Fraction(x, y);
                row[4 * x] = Mix(thumbnail.Rgb[s], TissueTint.Red, tint);
                row[4 * x + 1] = Mix(thumbnail.Rgb[s + 1], TissueTint.Green, tint);
                row[4 * x + 2] = Mix(thumbnail.Rgb[s + 2], TissueTint.Blue, tint);
                row[4 * x + 3] = 255;
            }
        }
        return bitmap;
    }

    private static byte Mix(byte under, byte over, float alpha) => (byte)Math.Round((1 - alpha) * under + alpha * over);

    private static void DrawTiles(SKCanvas canvas, TileSet tiles, double scale)
    {
        float side = (float)(tiles.Grid.TileSize0 * scale);
        // An outline needs a few pixels of inside to read as a box; smaller tiles are shown as a light fill.
        bool outline = side >= 4;
        using var paint = new SKPaint
        {
            Style = outline ? SKPaintStyle.Stroke : SKPaintStyle.Fill,
            StrokeWidth = 1,
            Color = outline ? TileColour : TileColour.WithAlpha(90),
            IsAntialias = false,
        };
        for (int i = 0; i < tiles.Count; i++)
        {
            float left = (float)(tiles.X[i] * scale), top = (float)(tiles.Y[i] * scale);
            var rect = outline ? new SKRect(left + 0.5f, top + 0.5f, left + side - 0.5f, top + side - 0.5f) : new SKRect(left, top, left + side, top + side);
            canvas.DrawRect(rect, paint);
        }
    }

    internal static void DrawPolygons(SKCanvas canvas, IReadOnlyList<AnnotationPolygon> polygons, SKColor colour, double scale)
    {
        using var paint = new SKPaint { Style = SKPaintStyle.Stroke, StrokeWidth = 2, Color = colour, IsAntialias = true };
        foreach (var polygon in polygons)
        {
            using var path = new SKPath();
            path.MoveTo((float)(polygon.X[0] * scale), (float)(polygon.Y[0] * scale));
            for (int i = 1; i < polygon.X.Length; i++)
            {
                path.LineTo((float)(polygon.X[i] * scale), (float)(polygon.Y[i] * scale));
            }
            path.Close();
            canvas.DrawPath(path, paint);
        }
    }
}
