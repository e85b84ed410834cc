using Ips.Imaging;
using Ips.Inference;
using Ips.Patches;
using Ips.Slides;
using Ips.Slides.Annotations;
using SkiaSharp;

namespace Ips.Tests.Inference;

public sealed class SlideAttentionMapTests : IDisposable
{
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    // A 400 x 200 pale thumbnail of an 800 x 400 slide (downsample 2).
    private static SlideThumbnail Pale() => new([.. Enumerable.Repeat((byte)230, 400 * 200 * 3)], 400, 200, 2);

    private static readonly PixelBox[] Tiles = [new(0, 0, 100, 100), new(200, 0, 100, 100)];

    // The colour at the centre of a level-0 box in the framed picture.
    private static SKColor At(SKBitmap picture, PixelBox box) =>
        picture.GetPixel(PictureFrame.BodyLeft + (box.X + box.Width / 2) / 2, PictureFrame.BodyTop + (box.Y + box.Height / 2) / 2);

    [Fact]
    public void On_one_shared_scale_a_slide_with_weak_attention_stays_cool_next_to_one_with_strong_attention()
    {
        string normal = _files.File("normal.png"), tumour = _files.File("tumour.png");
        var shared = new AttentionLabels { Title = ["slide"], ScaleMax = 0.5f };

        SlideAttentionMap.Render(Pale(), Tiles, [0.02f, 0.05f], normal, shared);
        SlideAttentionMap.Render(Pale(), Tiles, [0.1f, 0.5f], tumour, shared);

        using var normalPicture = SKBitmap.Decode(normal);
        using var tumourPicture = SKBitmap.Decode(tumour);
        var normalHottest = At(normalPicture, Tiles[1]);
        var tumourHottest = At(tumourPicture, Tiles[1]);
        // Jet: the top of the scale is dark red, a tenth of it blue.
        Assert.True(tumourHottest.Red > tumourHottest.Blue + 40, $"tumour's hottest tile {tumourHottest}");
        Assert.True(normalHottest.Blue > normalHottest.Red + 80, $"normal's hottest tile {normalHottest}");
        Assert.True(tumourHottest.Red > normalHottest.Red + 40, $"tumour {tumourHottest}, normal {normalHottest}");
        // The colour bar is the same on both: one scale.
        var bar = PictureFrame.ColourBarRect(200);
        Assert.Equal(normalPicture.GetPixel(bar.Right - 1, bar.MidY), tumourPicture.GetPixel(bar.Right - 1, bar.MidY));
    }

    [Fact]
    public void On_its_own_scale_each_slide_shows_its_strongest_tile_at_the_top_colour()
    {
        string normal = _files.File("normal.png"), tumour = _files.File("tumour.png");

        SlideAttentionMap.Render(Pale(), Tiles, [0.02f, 0.05f], normal);
        SlideAttentionMap.Render(Pale(), Tiles, [0.1f, 0.5f], tumour);

        using var normalPicture = SKBitmap.Decode(normal);
        using var tumourPicture = SKBitmap.Decode(tumour);
        Assert.Equal(At(tumourPicture, Tiles[1]), At(normalPicture, Tiles[1]));
    }

    [Fact]
    public void The_picture_draws_the_annotated_tumour_a_scale_bar_from_the_slides_pixel_size_and_its_legend()
    {
        string path = _files.File("annotated.png");
        var lesion = new AnnotationPolygon("lesion", [500, 700, 700, 500], [100, 100, 300, 300]);

        SlideAttentionMap.Render(Pale(), Tiles, [0.1f, 0.5f], path, new AttentionLabels { Title = ["tumor_001.tif"] }, micronsPerPixel: 0.5, tumour: [lesion]);

        using var picture = SKBitmap.Decode(path);
        // The lesion's left edge, x 500 at level 0, is x 250 in the thumbnail; its inside keeps the slide's colour.
        var edge = picture.GetPixel(PictureFrame.BodyLeft + 250, PictureFrame.BodyTop + 100);
        Assert.True(edge.Red + edge.Green + edge.Blue < 200, $"lesion outline {edge}");
        Assert.Equal(new SKColor(230, 230, 230), picture.GetPixel(PictureFrame.BodyLeft + 300, PictureFrame.BodyTop + 100));
        // 0.5 um per level-0 pixel, 1 um per thumbnail pixel: 100 um fits 150 pixels, 100 pixels long.
        var frame = AttentionMap.Frame(new AttentionLabels(), 0.5f, micronsPerPixel: 1, tumourOutlines: true);
        var scale = frame.ScaleBarRect(200)!.Value;
        Assert.Equal(100, scale.Width);
        Assert.Equal(SKColors.Black, picture.GetPixel(scale.Left + 50, scale.MidY));
        var colours = Enumerable.Range(PictureFrame.BodyTop + 200, picture.Height - PictureFrame.BodyTop - 200)
            .SelectMany(y => Enumerable.Range(0, picture.Width).Select(x => picture.GetPixel(x, y))).ToHashSet();
        Assert.Contains(AttentionMap.OutlineColor, colours);
    }
}
