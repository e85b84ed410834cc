using Ips.Imaging;
using SkiaSharp;

namespace Ips.Tests.Imaging;

public sealed class PictureFrameTests
{
    private static SKBitmap Grey(int width, int height)
    {
        var body = new SKBitmap(width, height);
        body.Erase(new SKColor(128, 128, 128));
        return body;
    }

    private static int Dark(SKBitmap picture, SKRectI region) =>
        Enumerable.Range(region.Top, region.Height)
            .Sum(y => Enumerable.Range(region.Left, region.Width).Count(x => picture.GetPixel(x, y) is var c && c.Red + c.Green + c.Blue < 200));

    [Fact]
    public void The_frame_holds_the_picture_under_its_title_and_the_colour_bar_with_its_ramp_below()
    {
        using var body = Grey(400, 300);
        var frame = new PictureFrame
        {
            Title = ["slide_001.tif", "metastases: positive, p = 0.930"],
            Bar = new ColourBar("attention", 0.25, t => new SKColor((byte)(255 * t), 0, (byte)(255 * (1 - t)))),
        };

        using var framed = frame.Compose(body);

        Assert.Equal(new SKColor(128, 128, 128), framed.GetPixel(PictureFrame.BodyLeft, PictureFrame.BodyTop));
        Assert.Equal(new SKColor(128, 128, 128), framed.GetPixel(PictureFrame.BodyLeft + 399, PictureFrame.BodyTop + 299));
        // Text is drawn (dark pixels) in the lines that have a title, none in the third.
        var line = SKRectI.Create(0, 8, 300, PictureFrame.LineHeight);
        Assert.True(Dark(framed, line) > 50, $"{Dark(framed, line)} dark pixels in the first title line");
        var second = SKRectI.Create(0, 8 + PictureFrame.LineHeight, 300, PictureFrame.LineHeight);
        Assert.True(Dark(framed, second) > 50, $"{Dark(framed, second)} dark pixels in the second title line");
        Assert.Equal(0, Dark(framed, SKRectI.Create(0, 8 + 2 * PictureFrame.LineHeight, 300, PictureFrame.LineHeight)));
        // The ramp runs from the colour of 0 at its left to the colour of the top at its right.
        var bar = PictureFrame.ColourBarRect(300);
        Assert.Equal(new SKColor(0, 0, 255), framed.GetPixel(bar.Left, bar.MidY));
        Assert.Equal(new SKColor(255, 0, 0), framed.GetPixel(bar.Right - 1, bar.MidY));
        // Its scale is written under it.
        Assert.True(Dark(framed, SKRectI.Create(bar.Left, bar.Bottom, bar.Width, PictureFrame.LineHeight)) > 20);
        // No pixel size, no scale bar.
        Assert.Null(frame.ScaleBarRect(300));
    }

    [Fact]
    public void The_scale_bar_is_a_round_length_in_micrometres_drawn_to_scale()
    {
        using var body = Grey(200, 100);
        // 2 um per pixel: the longest round length within 150 pixels (300 um) is 200 um, 100 pixels.
        var frame = new PictureFrame { MicronsPerPixel = 2 };

        using var framed = frame.Compose(body);

        var scale = frame.ScaleBarRect(100)!.Value;
        Assert.Equal(100, scale.Width);
        Assert.Equal(scale.Width * scale.Height, Dark(framed, scale));
        Assert.Equal(SKColors.White, framed.GetPixel(scale.Right + 1, scale.MidY));
        // Its length is written above it.
        Assert.True(Dark(framed, SKRectI.Create(scale.Left, scale.Top - PictureFrame.LineHeight, 100, PictureFrame.LineHeight)) > 20);
    }

    [Fact]
    public void A_legend_swatch_is_drawn_for_each_overlay_colour()
    {
        using var body = Grey(100, 100);
        var frame = new PictureFrame { Legend = [new LegendEntry(new SKColor(255, 0, 255), "selected patch", Outline: false), new LegendEntry(new SKColor(0, 200, 0), "tissue", Outline: false)] };

        using var framed = frame.Compose(body);

        var colours = Enumerable.Range(0, framed.Height).SelectMany(y => Enumerable.Range(0, framed.Width).Select(x => framed.GetPixel(x, y))).ToHashSet();
        Assert.Contains(new SKColor(255, 0, 255), colours);
        Assert.Contains(new SKColor(0, 200, 0), colours);
    }

    [Fact]
    public void A_title_longer_than_the_frame_has_room_for_is_refused()
    {
        using var body = Grey(10, 10);
        var error = Assert.Throws<ArgumentException>(() => new PictureFrame { Title = ["a", "b", "c", "d"] }.Compose(body));
        Assert.Contains("room for 3 lines, got 4", error.Message, StringComparison.Ordinal);
    }
}
