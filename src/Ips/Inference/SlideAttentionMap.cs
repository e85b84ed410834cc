using Ips.IO;
using Ips.Imaging;
using Ips.Patches;
using Ips.Slides;
using Ips.Slides.Annotations;
using Ips.Slides.Tiling;
using SkiaSharp;

namespace Ips.Inference;

/// <summary>
/// The attention picture of a prediction on a whole slide: the slide's thumbnail, each selected tile tinted by its
/// attention score (scores divided by the scale's top, coloured blue to red as in <see cref="AttentionMap"/>; where
/// selected tiles overlap, their mean), the selected tiles outlined, the annotated tumour outlined when given, framed by
/// a title, a colour bar, a scale bar and a legend (<see cref="PictureFrame"/>). Unselected tissue keeps its colours.
/// </summary>
public static class SlideAttentionMap
{
    /// <summary>
    /// Writes the picture to <paramref name="pngPath"/>: <paramref name="boxes"/> are the selected tiles in level-0
    /// pixels and <paramref name="scores"/> their attention; <paramref name="labels"/> give the title and the top of the
    /// colour scale (by default the highest score); <paramref name="micronsPerPixel"/> (level 0, when the slide records
    /// it) gives the scale bar; <paramref name="tumour"/> polygons (level-0 pixels) are outlined.
    /// </summary>
    public static unsafe void Render(
        SlideThumbnail thumbnail, IReadOnlyList<PixelBox> boxes, IReadOnlyList<float> scores, string pngPath,
        AttentionLabels? labels = null, double? micronsPerPixel = null, IReadOnlyList<AnnotationPolygon>? tumour = null)
    {
        ArgumentNullException.ThrowIfNull(thumbnail);
        ArgumentNullException.ThrowIfNull(boxes);
        ArgumentNullException.ThrowIfNull(scores);
        if (boxes.Count != scores.Count)
        {
            throw new ArgumentException($"{pngPath}: {boxes.Count} tiles but {scores.Count} scores", nameof(scores));
        }

        double scale = 1 / thumbnail.Downsample;
        int width = thumbnail.Width, height = thumbnail.Height;
        var sum = new float[width * height];
        var count = new int[width * height];
        labels ??= new AttentionLabels();
        float max = labels.ScaleMax ?? (scores.Count == 0 ? 0 : scores.Max());
        for (int k = 0; k < boxes.Count; k++)
        {
            var (left, top, right, bottom) = Covered(boxes[k], scale, width, height);
            for (int y = top; y < bottom; y++)
            {
                for (int x = left; x < right; x++)
                {
                    sum[y * width + x] += max > 0 ? Math.Min(1, scores[k] / max) : 0;
                    count[y * width + x]++;
                }
            }
        }

        using var bitmap = QcThumbnail.ToBitmap(thumbnail);
        for (int y = 0; y < height; y++)
        {
            byte* row = (byte*)bitmap.GetPixels() + (long)y * bitmap.RowBytes;
            for (int x = 0; x < width; x++)
            {
                int i = y * width + x;
                if (count[i] == 0)
                {
                    continue;
                }
                var (r, g, b) = AttentionMap.Jet(sum[i] / count[i]);
                row[4 * x] = AttentionMap.Mix(row[4 * x], r);
                row[4 * x + 1] = AttentionMap.Mix(row[4 * x + 1], g);
                row[4 * x + 2] = AttentionMap.Mix(row[4 * x + 2], b);
            }
        }

        using (var canvas = new SKCanvas(bitmap))
        using (var pen = new SKPaint { Style = SKPaintStyle.Stroke, StrokeWidth = 1, Color = AttentionMap.OutlineColor, IsAntialias = false })
        {
            foreach (var box in boxes)
            {
                var (left, top, right, bottom) = Covered(box, scale, width, height);
                canvas.DrawRect(new SKRect(left + 0.5f, top + 0.5f, Math.Max(left + 0.5f, right - 0.5f), Math.Max(top + 0.5f, bottom - 0.5f)), pen);
            }
            QcThumbnail.DrawPolygons(canvas, tumour ?? [], AttentionMap.TumourColor, scale);
        }
        var frame = AttentionMap.Frame(labels, max, micronsPerPixel * thumbnail.Downsample, tumourOutlines: tumour is { Count: > 0 });
        using var framed = frame.Compose(bitmap);
        AtomicFile.Write(pngPath, temporary => ImageFile.WritePng(framed, temporary));
    }

    // Thumbnail pixels [left, right) x [top, bottom) under a level-0 box; at least one pixel.
    private static (int Left, int Top, int Right, int Bottom) Covered(PixelBox box, double scale, int width, int height)
    {
        int left = Math.Clamp((int)(box.X * scale), 0, width - 1), top = Math.Clamp((int)(box.Y * scale), 0, height - 1);
        int right = Math.Clamp((int)Math.Ceiling((box.X + box.Width) * scale), left + 1, width);
        int bottom = Math.Clamp((int)Math.Ceiling((box.Y + box.Height) * scale), top + 1, height);
        return (left, top, right, bottom);
    }
}
