using Ips.Imaging;
using Ips.Inference;
using Ips.Patches;
using SkiaSharp;
using static TorchSharp.torch;

namespace Ips.Tests.Inference;

public sealed class AttentionMapTests : IDisposable
{
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public void The_picture_outlines_selected_patches_and_warms_the_best()
    {
        var grid = new PatchGrid(40, 60, 10, 10, 10, 10); // 4 x 6 patches
        using var image = full(1, 40, 60, 0.5f);
        string path = _files.File("map.png");

        AttentionMap.Render(image, grid, [7, 16], [0.9f, 0.1f], path);

        using var picture = Body(path, 60, 40);
        var best = grid.Box(7);
        Assert.Equal(new SKColor(255, 0, 255), picture.GetPixel(best.X, best.Y));
        Assert.Equal(new SKColor(255, 0, 255), picture.GetPixel(best.X + 9, best.Y + 5));
        var centre = picture.GetPixel(best.X + 5, best.Y + 5);
        var unselected = picture.GetPixel(grid.Box(0).X + 5, grid.Box(0).Y + 5);
        Assert.True(centre.Red - centre.Blue > unselected.Red - unselected.Blue + 50, $"best {centre}, unselected {unselected}");
    }

    [Fact]
    public void Big_images_shrink_to_maxSide()
    {
        var grid = new PatchGrid(200, 100, 50, 50, 25, 25); // 7 x 3 overlapping patches
        using var image = rand(3, 200, 100);
        string path = _files.File("small.png");

        AttentionMap.Render(image, grid, [10], [1f], path, maxSide: 50);

        using var picture = Body(path, 25, 50);
        var box = grid.Box(10);
        Assert.Equal(new SKColor(255, 0, 255), picture.GetPixel((int)MathF.Round(box.X / 4f), (int)MathF.Round(box.Y / 4f)));
    }

    [Fact]
    public void Small_images_grow_by_a_whole_factor_to_minSide_with_sharp_pixels()
    {
        // 60 x 40 with minSide 200: factor 4 (3 would give 180), so 240 x 160, each source pixel a 4 x 4 square.
        var grid = new PatchGrid(40, 60, 10, 10, 10, 10);
        using var image = zeros(1, 40, 60);
        image[0, 25, 5] = tensor(1f);
        string path = _files.File("grown.png");

        AttentionMap.Render(image, grid, [7], [1f], path, minSide: 200);

        using var framed = SKBitmap.Decode(path);
        using var picture = Body(path, 240, 160);
        var best = grid.Box(7);
        Assert.Equal(new SKColor(255, 0, 255), picture.GetPixel(best.X * 4, best.Y * 4));
        Assert.Equal(new SKColor(255, 0, 255), picture.GetPixel(best.X * 4 + 39, best.Y * 4 + 20));
        // Patch 12 (row 2, column 0) holds the one white pixel at (5, 25): its square is uniform and brighter than
        // the pixels around it, with no blur into them.
        var inside = Enumerable.Range(0, 4).SelectMany(dy => Enumerable.Range(0, 4).Select(dx => picture.GetPixel(20 + dx, 100 + dy))).Distinct().ToList();
        Assert.Single(inside);
        Assert.Equal(picture.GetPixel(19, 101), picture.GetPixel(24, 101));
        Assert.True(inside[0].Red > picture.GetPixel(19, 101).Red + 60, $"{inside[0]} against {picture.GetPixel(19, 101)}");
        Assert.True(framed.Height > PictureFrame.BodyTop + 160);
    }

    [Fact]
    public void The_frame_is_as_wide_as_the_longest_title_line()
    {
        var grid = new PatchGrid(40, 60, 10, 10, 10, 10);
        using var image = full(1, 40, 60, 0.5f);
        string shortTitle = _files.File("short.png"), longTitle = _files.File("long.png");
        var line = string.Join("; ", Enumerable.Range(0, 12).Select(t => $"task{t}: class {t}, p = 0.{t:D3}"));

        AttentionMap.Render(image, grid, [7], [1f], shortTitle, labels: new AttentionLabels { Title = ["a.png"] });
        AttentionMap.Render(image, grid, [7], [1f], longTitle, labels: new AttentionLabels { Title = ["a.png", line] });

        using var narrow = SKBitmap.Decode(shortTitle);
        using var wide = SKBitmap.Decode(longTitle);
        Assert.True(wide.Width > narrow.Width + 400, $"{wide.Width} against {narrow.Width}");
        // Ink in the last 40 pixels before the right margin on the title's second line: the line ends inside the picture.
        bool inked = Enumerable.Range(wide.Width - 48, 40).Any(x => Enumerable.Range(28, 16).Any(y => wide.GetPixel(x, y).Red < 128));
        Assert.True(inked, "the long title line does not reach the frame's right part");
    }

    [Fact]
    public void Overlapping_patches_average_their_scores_per_pixel()
    {
        // Two patches across, overlapping in x 10..19; only the left one is selected. Per pixel the mean score is
        // 1 in x 0..9, 0.5 in the overlap and 0 in x 20..29: jet gives dark red, green and dark blue there.
        var grid = new PatchGrid(10, 30, 10, 20, 10, 10);
        using var image = full(1, 10, 30, 0.5f);
        string path = _files.File("overlap.png");

        AttentionMap.Render(image, grid, [0], [1f], path);

        using var picture = Body(path, 30, 10);
        var alone = picture.GetPixel(5, 5);
        var shared = picture.GetPixel(15, 5);
        var outside = picture.GetPixel(25, 5);
        Assert.True(alone.Red > alone.Green + 40, $"alone {alone}");
        Assert.True(shared.Green > shared.Red + 40 && shared.Green > alone.Green + 80, $"shared {shared}");
        Assert.True(outside.Blue > outside.Red + 40, $"outside {outside}");
    }

    // The picture inside its frame (title, colour bar, legend): width x height pixels at the frame's body corner.
    private static SKBitmap Body(string path, int width, int height)
    {
        using var framed = SKBitmap.Decode(path);
        Assert.True(framed.Width >= PictureFrame.BodyLeft + width && framed.Height > PictureFrame.BodyTop + height, $"{framed.Width} x {framed.Height}");
        using var body = new SKBitmap();
        Assert.True(framed.ExtractSubset(body, SKRectI.Create(PictureFrame.BodyLeft, PictureFrame.BodyTop, width, height)));
        return body.Copy();
    }

    [Fact]
    public void Mismatched_scores_are_refused()
    {
        using var image = zeros(1, 20, 20);
        var error = Assert.Throws<ArgumentException>(() =>
            AttentionMap.Render(image, new PatchGrid(20, 20, 10, 10, 10, 10), [1, 2], [0.5f], _files.File("x.png")));
        Assert.Contains("2 selected patches but 1 scores", error.Message, StringComparison.Ordinal);
    }
}
