using System.Globalization;
using SkiaSharp;

namespace Ips.Imaging;

/// <summary>The colour bar under a picture: what a colour of the overlay means.</summary>
/// <param name="Label">What the colours measure, e.g. <c>attention</c>.</param>
/// <param name="Max">The value of the right end; the left end is 0.</param>
/// <param name="Colour">The colour a value in <c>[0, 1]</c> (a fraction of <paramref name="Max"/>) has in the picture.</param>
public sealed record ColourBar(string Label, double Max, Func<float, SKColor> Colour);

/// <summary>One entry of a picture's legend: a colour swatch and what it marks.</summary>
/// <param name="Colour">The overlay colour.</param>
/// <param name="Label">What it marks, e.g. <c>selected tile</c>.</param>
/// <param name="Outline">Whether the overlay draws outlines in this colour (else fills).</param>
public sealed record LegendEntry(SKColor Colour, string Label, bool Outline);

/// <summary>
/// What makes a picture explain itself: title lines above it, and below it a colour bar with its scale, a scale bar in
/// micrometres where the pixel size is known, and a legend for every overlay colour. <see cref="Compose"/> puts the
/// picture at <see cref="BodyLeft"/>, <see cref="BodyTop"/> of a white canvas; the other parts take fixed places
/// (<see cref="ColourBarRect"/>, <see cref="ScaleBarRect"/>) so that a reader can find them.
/// </summary>
public sealed class PictureFrame
{
    /// <summary>Left edge of the picture in the framed image.</summary>
    public const int BodyLeft = Margin;

    /// <summary>Height of one title line in pixels.</summary>
    public const int LineHeight = 18;

    /// <summary>Title lines a frame has room for.</summary>
    public const int MaxTitleLines = 3;

    /// <summary>Top edge of the picture in the framed image: under the title band, whose height is fixed so that readers find the picture at one place.</summary>
    public const int BodyTop = Margin + MaxTitleLines * LineHeight + Margin;

    /// <summary>Height of the colour bar's ramp in pixels.</summary>
    public const int BarHeight = 14;

    /// <summary>Width of the colour bar's ramp in pixels.</summary>
    public const int BarWidth = 256;

    private const int Margin = 8;
    private const int MinimumWidth = BarWidth + 2 * Margin + 300;
    private const float TextSize = 13;
    private const int ScaleBarTarget = 150;

    // DejaVu Sans is what Debian installs as its default sans font (fonts-dejavu-core); Skia's font manager finds it
    // under /usr/share/fonts without fontconfig. The default typeface is the fallback where another family is installed.
    private static readonly SKTypeface Typeface = SKFontManager.Default.MatchFamily("DejaVu Sans") ?? SKTypeface.Default;

    /// <summary>Title lines, top to bottom.</summary>
    public IReadOnlyList<string> Title { get; init; } = [];

    /// <summary>The colour bar, if the picture has a colour overlay.</summary>
    public ColourBar? Bar { get; init; }

    /// <summary>Micrometres per picture pixel; null where the pixel size is unknown (no scale bar is drawn).</summary>
    public double? MicronsPerPixel { get; init; }

    /// <summary>The overlay colours and what they mark.</summary>
    public IReadOnlyList<LegendEntry> Legend { get; init; } = [];

    /// <summary>Where the colour bar's ramp lies in an image framed around a picture <paramref name="bodyHeight"/> high.</summary>
    public static SKRectI ColourBarRect(int bodyHeight) =>
        SKRectI.Create(Margin, BodyTop + bodyHeight + Margin + LineHeight, BarWidth, BarHeight);

    /// <summary>
    /// Where the scale bar lies (its thick line, <see cref="BarHeight"/> / 2 high) in an image framed around a picture
    /// <paramref name="bodyHeight"/> high; null without a pixel size.
    /// </summary>
    public SKRectI? ScaleBarRect(int bodyHeight) => ScaleBarLength() is { Pixels: var pixels }
        ? SKRectI.Create(BarWidth + 4 * Margin, BodyTop + bodyHeight + Margin + LineHeight, pixels, BarHeight / 2)
        : null;

    /// <summary>The framed image: <paramref name="body"/> with the title, colour bar, scale bar and legend around it.</summary>
    public SKBitmap Compose(SKBitmap body)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (Title.Count > MaxTitleLines)
        {
            throw new ArgumentException($"a picture's title has room for {MaxTitleLines} lines, got {Title.Count}", nameof(body));
        }
        using var font = new SKFont(Typeface, TextSize);
        int footer = Margin + 2 * LineHeight + BarHeight + Margin + (Legend.Count > 0 ? LineHeight + Margin : 0);
        // Wide enough for the longest title line too: a title cut at the edge hides the last task's prediction.
        int titleWidth = Title.Count == 0 ? 0 : (int)MathF.Ceiling(Title.Max(line => font.MeasureText(line)));
        int width = Math.Max(Math.Max(body.Width, titleWidth) + 2 * Margin, MinimumWidth);
        int height = BodyTop + body.Height + footer;
        var framed = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        using var canvas = new SKCanvas(framed);
        canvas.Clear(SKColors.White);
        canvas.DrawBitmap(body, BodyLeft, BodyTop);
        using var ink = new SKPaint { Color = SKColors.Black, IsAntialias = true };
        for (int i = 0; i < Title.Count; i++)
        {
            canvas.DrawText(Title[i], Margin, Margin + (i + 1) * LineHeight - 5, font, ink);
        }
        int top = BodyTop + body.Height + Margin;
        if (Bar is { } bar)
        {
            DrawColourBar(canvas, bar, ColourBarRect(body.Height), font, ink);
        }
        if (ScaleBarRect(body.Height) is { } scale)
        {
            canvas.DrawText(ScaleBarLength()!.Value.Label, scale.Left, top + LineHeight - 5, font, ink);
            canvas.DrawRect(scale, ink);
        }
        if (Legend.Count > 0)
        {
            DrawLegend(canvas, top + 2 * LineHeight + BarHeight + Margin, font, ink);
        }
        return framed;
    }

    private static void DrawColourBar(SKCanvas canvas, ColourBar bar, SKRectI rect, SKFont font, SKPaint ink)
    {
        canvas.DrawText(bar.Label, rect.Left, rect.Top - 5, font, ink);
        using var paint = new SKPaint { IsAntialias = false };
        for (int x = 0; x < rect.Width; x++)
        {
            paint.Color = bar.Colour(x / (float)(rect.Width - 1));
            canvas.DrawRect(SKRect.Create(rect.Left + x, rect.Top, 1, rect.Height), paint);
        }
        float labelTop = rect.Bottom + LineHeight - 5;
        canvas.DrawText("0", rect.Left, labelTop, SKTextAlign.Left, font, ink);
        canvas.DrawText(Number(bar.Max / 2), rect.MidX, labelTop, SKTextAlign.Center, font, ink);
        canvas.DrawText(Number(bar.Max), rect.Right, labelTop, SKTextAlign.Right, font, ink);
    }

    private void DrawLegend(SKCanvas canvas, int top, SKFont font, SKPaint ink)
    {
        float x = Margin;
        foreach (var entry in Legend)
        {
            using var swatch = new SKPaint
            {
                Color = entry.Colour, IsAntialias = false,
                Style = entry.Outline ? SKPaintStyle.Stroke : SKPaintStyle.Fill, StrokeWidth = 2,
            };
            canvas.DrawRect(SKRect.Create(x + 1, top + 2, BarHeight - 2, BarHeight - 2), swatch);
            x += BarHeight + 4;
            canvas.DrawText(entry.Label, x, top + BarHeight - 2, font, ink);
            x += font.MeasureText(entry.Label) + 2 * Margin;
        }
    }

    // The longest round length (1, 2 or 5 times a power of ten micrometres) that fits ScaleBarTarget pixels.
    private (int Pixels, string Label)? ScaleBarLength()
    {
        if (MicronsPerPixel is not (> 0 and var mpp) || double.IsInfinity(mpp))
        {
            return null;
        }
        double most = ScaleBarTarget * mpp;
        double power = Math.Pow(10, Math.Floor(Math.Log10(most)));
        double microns = new[] { 5, 2, 1 }.Select(f => f * power).First(m => m <= most);
        string label = microns >= 1000
            ? string.Create(CultureInfo.InvariantCulture, $"{microns / 1000:0.###} mm")
            : string.Create(CultureInfo.InvariantCulture, $"{microns:0.###} µm");
        return ((int)Math.Round(microns / mpp), label);
    }

    private static string Number(double value) => value.ToString("0.###", CultureInfo.InvariantCulture) is var text && text != "0"
        ? text
        : value.ToString("G3", CultureInfo.InvariantCulture);
}
