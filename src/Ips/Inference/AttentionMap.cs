using Ips.IO;
using Ips.Imaging;
using Ips.Patches;
using SkiaSharp;
using static TorchSharp.torch;

namespace Ips.Inference;

/// <summary>
/// A picture of one prediction: the image under a heat map of the patch scores (selected patches carry their scores,
/// the others 0, averaged per pixel where patches overlap, divided by the scale's top, coloured blue to red) with the
/// selected patches outlined, framed by a title, a colour bar and a legend (<see cref="PictureFrame"/>).
/// </summary>
public static class AttentionMap
{
    private const float Alpha = 0.45f;
    private const float OutlineWidth = 2;
    internal static readonly SKColor OutlineColor = new(255, 0, 255);
    internal static readonly SKColor TumourColor = new(0, 0, 0);

    /// <summary>
    /// Writes the picture as a PNG to <paramref name="pngPath"/>. <paramref name="image"/> is grey or RGB
    /// <c>[C, H, W]</c> in <c>[0, 1]</c> laid out by <paramref name="grid"/>; <paramref name="selectedScores"/> holds the
    /// score of each of <paramref name="selectedIndices"/>. <paramref name="maxSide"/> scales big images down so that
    /// the longer side of the picture is at most that many pixels; <paramref name="minSide"/> enlarges small images by
    /// a whole factor (each pixel a sharp square) until the longer side is at least that many, so a 98-pixel canvas
    /// and its outlines can be read. <paramref name="labels"/> give the title and the top of the colour scale (by
    /// default the highest score).
    /// </summary>
    public static void Render(
        Tensor image, PatchGrid grid, IReadOnlyList<long> selectedIndices, IReadOnlyList<float> selectedScores,
        string pngPath, int? maxSide = null, AttentionLabels? labels = null, int? minSide = null)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(grid);
        ArgumentNullException.ThrowIfNull(selectedIndices);
        ArgumentNullException.ThrowIfNull(selectedScores);
        PatchExtraction.CheckImageMatchesGrid(image, grid);
        if (image.shape[0] is not (1 or 3))
        {
            throw new ArgumentException($"{pngPath}: expected a grey or RGB image [1 or 3, H, W], got {image.shape[0]} channels", nameof(image));
        }

        if (selectedIndices.Count != selectedScores.Count)
        {
            throw new ArgumentException(
                $"{pngPath}: {selectedIndices.Count} selected patches but {selectedScores.Count} scores", nameof(selectedScores));
        }

        if (selectedIndices.FirstOrDefault(i => i < 0 || i >= grid.Count, -1) is var bad and not -1)
        {
            throw new ArgumentOutOfRangeException(nameof(selectedIndices), $"{pngPath}: patch index {bad} is outside 0 .. {grid.Count - 1}");
        }

        if (maxSide is <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(maxSide), $"{pngPath}: maxSide must be positive, got {maxSide}");
        }

        if (minSide is <= 0 || minSide > maxSide)
        {
            throw new ArgumentOutOfRangeException(nameof(minSide), $"{pngPath}: minSide must be positive and at most maxSide, got {minSide}");
        }

        int longest = Math.Max(grid.ImageHeight, grid.ImageWidth);
        float scale = maxSide is { } side && longest > side ? (float)side / longest
            : minSide is { } least && longest < least ? (least + longest - 1) / longest
            : 1f;
        int outWidth = Math.Max(1, (int)Math.Round(grid.ImageWidth * scale));
        int outHeight = Math.Max(1, (int)Math.Round(grid.ImageHeight * scale));

        labels ??= new AttentionLabels();
        float top = labels.ScaleMax ?? (selectedScores.Count == 0 ? 0 : selectedScores.Max());
        using var picture = Scaled(image, outWidth, outHeight, scale > 1 ? SKFilterMode.Nearest : SKFilterMode.Linear);
        float[] heat = Heat(grid, selectedIndices, selectedScores, outWidth, outHeight, top);
        BlendHeat(picture, heat);
        DrawOutlines(picture, grid, selectedIndices, selectedScores, scale);
        using var framed = Frame(labels, top, micronsPerPixel: null, tumourOutlines: false).Compose(picture);
        AtomicFile.Write(pngPath, temporary => ImageFile.WritePng(framed, temporary));
    }

    /// <summary>
    /// The frame of an attention picture: <paramref name="labels"/>' title, the colour bar from 0 to
    /// <paramref name="top"/>, the scale bar where <paramref name="micronsPerPixel"/> is known, and the legend of the
    /// outlines drawn.
    /// </summary>
    internal static PictureFrame Frame(AttentionLabels labels, float top, double? micronsPerPixel, bool tumourOutlines) => new()
    {
        Title = labels.Title,
        Bar = new ColourBar("attention (scores the aggregator gave the selected patches)", top, t =>
        {
            var (r, g, b) = Jet(t);
            return new SKColor(Mix(255, r), Mix(255, g), Mix(255, b));
        }),
        MicronsPerPixel = micronsPerPixel,
        Legend = tumourOutlines
            ? [new LegendEntry(OutlineColor, "selected patch", Outline: true), new LegendEntry(TumourColor, "annotated tumour", Outline: true)]
            : [new LegendEntry(OutlineColor, "selected patch", Outline: true)],
    };

    private static SKBitmap Scaled(Tensor image, int width, int height, SKFilterMode filter)
    {
        using var full = ImageFile.ToBitmap(image);
        using var fullImage = SKImage.FromBitmap(full);
        var picture = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        using var canvas = new SKCanvas(picture);
        canvas.DrawImage(fullImage, new SKRect(0, 0, width, height), new SKSamplingOptions(filter, SKMipmapMode.Linear));
        return picture;
    }

    // Per picture pixel: the mean score of the patches covering its source pixel, as a fraction of the scale's top.
    private static float[] Heat(
        PatchGrid grid, IReadOnlyList<long> indices, IReadOnlyList<float> scores, int width, int height, float top)
    {
        int[] sourceY = SourcePixels(height, grid.ImageHeight);
        int[] sourceX = SourcePixels(width, grid.ImageWidth);
        int[] coverY = Coverage(grid.ImageHeight, grid.Rows, grid.PatchHeight, grid.StrideY);
        int[] coverX = Coverage(grid.ImageWidth, grid.Cols, grid.PatchWidth, grid.StrideX);

        var heat = new float[width * height];
        for (int k = 0; k < indices.Count; k++)
        {
            var box = grid.Box(indices[k]);
            for (int y = 0; y < height; y++)
            {
                if (sourceY[y] < box.Y || sourceY[y] >= box.Y + box.Height)
                {
                    continue;
                }

                for (int x = 0; x < width; x++)
                {
                    if (sourceX[x] >= box.X && sourceX[x] < box.X + box.Width)
                    {
                        heat[y * width + x] += scores[k];
                    }
                }
            }
        }

        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                int covering = coverY[sourceY[y]] * coverX[sourceX[x]];
                heat[y * width + x] = covering == 0 ? 0 : heat[y * width + x] / covering;
            }
        }

        for (int i = 0; i < heat.Length; i++)
        {
            heat[i] = top > 0 ? Math.Clamp(heat[i] / top, 0, 1) : 0;
        }

        return heat;
    }

    private static int[] SourcePixels(int pictureSize, int imageSize) =>
        [.. Enumerable.Range(0, pictureSize).Select(p => Math.Min(imageSize - 1, (int)((p + 0.5) * imageSize / pictureSize)))];

    // How many patches of one axis cover each pixel of that axis; overlaps factorise over rows and columns.
    private static int[] Coverage(int size, int patches, int patch, int stride)
    {
        var cover = new int[size];
        for (int p = 0; p < patches; p++)
        {
            for (int i = p * stride; i < p * stride + patch; i++)
            {
                cover[i]++;
            }
        }

        return cover;
    }

    private static unsafe void BlendHeat(SKBitmap picture, float[] heat)
    {
        int width = picture.Width;
        for (int y = 0; y < picture.Height; y++)
        {
            byte* row = (byte*)picture.GetPixels() + (long)y * picture.RowBytes;
            for (int x = 0; x < width; x++)
            {
                var (r, g, b) = Jet(heat[y * width + x]);
                byte* pixel = row + x * 4;
                pixel[0] = Mix(pixel[0], r);
                pixel[1] = Mix(pixel[1], g);
                pixel[2] = Mix(pixel[2], b);
            }
        }
    }

    /// <summary>
    /// Where the attention picture of <paramref name="input"/> goes in <paramref name="directory"/> (created if
    /// missing): <c>NAME.attention.png</c>, for images and slides alike.
    /// </summary>
    internal static string PathFor(string directory, string input)
    {
        Directory.CreateDirectory(directory);
        return Path.Combine(directory, Path.GetFileNameWithoutExtension(input) + ".attention.png");
    }

    // The 'jet' ramp: dark blue (0) through cyan, yellow to dark red (1).
    internal static (float R, float G, float B) Jet(float t) =>
        (Ramp(1.5f - Math.Abs(4 * t - 3)), Ramp(1.5f - Math.Abs(4 * t - 2)), Ramp(1.5f - Math.Abs(4 * t - 1)));

    private static float Ramp(float v) => Math.Clamp(v, 0f, 1f);

    internal static byte Mix(byte under, float colour) =>
        (byte)Math.Round((1 - Alpha) * under + Alpha * 255 * colour);

    private static void DrawOutlines(
        SKBitmap picture, PatchGrid grid, IReadOnlyList<long> indices, IReadOnlyList<float> scores, float scale)
    {
        using var canvas = new SKCanvas(picture);
        using var pen = new SKPaint { Style = SKPaintStyle.Stroke, StrokeWidth = OutlineWidth, Color = OutlineColor, IsAntialias = false };
        // The stroke is centred on the path, so inset by half its width to keep the outline inside the patch.
        float inset = OutlineWidth / 2;
        foreach (int k in Enumerable.Range(0, indices.Count).OrderBy(k => scores[k]))
        {
            var box = grid.Box(indices[k]);
            var rect = new SKRect(
                MathF.Round(box.X * scale) + inset, MathF.Round(box.Y * scale) + inset,
                MathF.Round((box.X + box.Width) * scale) - inset, MathF.Round((box.Y + box.Height) * scale) - inset);
            canvas.DrawRect(rect, pen);
        }
    }
}
