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
