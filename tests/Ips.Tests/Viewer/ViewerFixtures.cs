using Ips.Inference;
using Ips.Patches;
using SkiaSharp;

namespace Ips.Tests.Viewer;

/// <summary>Predictions in the JSON of <c>ips predict --out</c>, and decoding what the viewer serves.</summary>
internal static class ViewerFixtures
{
    /// <summary>Three selected 256-pixel tiles of the 8 x 6 grid of <see cref="Slides.GeneratedSlides"/>: (index, score).</summary>
    public static readonly (long Index, float Score)[] Selected = [(10, 0.5f), (20, 0.3f), (36, 0.2f)];

    /// <summary>The level-0 box of tile <paramref name="index"/> of the 8-column grid of 256-pixel tiles.</summary>
    public static PixelBox Box(long index) => new((int)(index % 8) * 256, (int)(index / 8) * 256, 256, 256);

    /// <summary>
    /// Writes, with the records <c>ips predict</c> itself writes, a prediction of each slide with its tumour
    /// probability and the tiles of <see cref="Selected"/>.
    /// </summary>
    public static void WritePredictions(string path, params (string Slide, float Probability)[] slides) =>
        new PredictionDocument([.. slides.Select(s => new Prediction(s.Slide, 48,
            new Dictionary<string, float[]> { ["tumour"] = [1 - s.Probability, s.Probability] },
            [.. Selected.Select(t => new SelectedPatch(t.Index, t.Score, Box(t.Index)))], AttentionMap: null))]).Write(path);

    /// <summary>A JPEG (or PNG) decoded to interleaved RGB.</summary>
    public static (byte[] Rgb, int Width, int Height) Decode(byte[] encoded)
    {
        using var bitmap = SKBitmap.Decode(encoded) ?? throw new InvalidDataException("not an image");
        using var rgba = bitmap.Copy(SKColorType.Rgba8888);
        var pixels = rgba.GetPixelSpan();
        var rgb = new byte[rgba.Width * rgba.Height * 3];
        for (int y = 0; y < rgba.Height; y++)
        {
            for (int x = 0; x < rgba.Width; x++)
            {
                for (int c = 0; c < 3; c++)
                {
                    rgb[(y * rgba.Width + x) * 3 + c] = pixels[y * rgba.RowBytes + 4 * x + c];
                }
            }
        }
        return (rgb, rgba.Width, rgba.Height);
    }

    /// <summary>Mean and largest absolute difference of two equally long byte arrays.</summary>
    public static (double Mean, int Max) Difference(byte[] a, byte[] b)
    {
        Assert.Equal(a.Length, b.Length);
        long sum = 0;
        int max = 0;
        for (int i = 0; i < a.Length; i++)
        {
            int d = Math.Abs(a[i] - b[i]);
            sum += d;
            max = Math.Max(max, d);
        }
        return ((double)sum / a.Length, max);
    }
}
