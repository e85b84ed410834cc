using Ips.Patches;
using static TorchSharp.torch;

namespace Ips.Tests.Patches;

public sealed class PatchExtractionTests
{
    // [1, 4, 6] with value = row * 6 + column.
    private static Tensor IndexImage() => arange(24, dtype: ScalarType.Float32).reshape(1, 4, 6);

    private static float[] PatchAt(int top, int left, int size) =>
        [.. Enumerable.Range(0, size).SelectMany(dy => Enumerable.Range(0, size).Select(dx => (float)((top + dy) * 6 + left + dx)))];

    [Fact]
    public void Non_overlapping_patches_come_out_row_major()
    {
        using var scope = NewDisposeScope();
        var grid = new PatchGrid(4, 6, 2, 2, 2, 2);
        var patches = PatchExtraction.Extract(IndexImage(), grid);

        Assert.Equal(new long[] { 6, 1, 2, 2 }, patches.shape);
        var expected = new[] { PatchAt(0, 0, 2), PatchAt(0, 2, 2), PatchAt(0, 4, 2), PatchAt(2, 0, 2), PatchAt(2, 2, 2), PatchAt(2, 4, 2) };
        for (int i = 0; i < 6; i++)
        {
            Assert.Equal(expected[i], patches[i].data<float>().ToArray());
        }

        Assert.Equal(new float[] { 0, 1, 6, 7 }, expected[0]);
    }

    [Fact]
    public void Overlapping_patches_slide_by_the_stride()
    {
        using var scope = NewDisposeScope();
        var grid = new PatchGrid(4, 6, 2, 2, 1, 1);
        var patches = PatchExtraction.Extract(IndexImage(), grid);

        Assert.Equal((4 - 2 + 1) * (6 - 2 + 1), grid.Count);
        Assert.Equal(new long[] { 15, 1, 2, 2 }, patches.shape);
        for (int i = 0; i < 15; i++)
        {
            Assert.Equal(PatchAt(i / 5, i % 5, 2), patches[i].data<float>().ToArray());
        }
    }

    [Fact]
    public void Channels_stay_together_in_each_patch()
    {
        using var scope = NewDisposeScope();
        var image = arange(2 * 4 * 6, dtype: ScalarType.Float32).reshape(2, 4, 6);
        var patches = PatchExtraction.Extract(image, new PatchGrid(4, 6, 2, 2, 2, 2));

        Assert.Equal(new long[] { 6, 2, 2, 2 }, patches.shape);
        Assert.Equal(new float[] { 16, 17, 22, 23, 40, 41, 46, 47 }, patches[5].data<float>().ToArray());
    }

    [Fact]
    public void Box_maps_an_index_to_its_pixels()
    {
        var grid = new PatchGrid(4, 6, 2, 2, 1, 1);
        Assert.Equal(new PixelBox(0, 0, 2, 2), grid.Box(0));
        Assert.Equal(new PixelBox(4, 0, 2, 2), grid.Box(4));
        Assert.Equal(new PixelBox(1, 2, 2, 2), grid.Box(11));
    }

    [Fact]
    public void GridFor_accepts_a_matching_N()
    {
        var grid = PatchExtraction.GridFor(1500, 1500, [50, 50], [50, 50], 900, "mnist.yml");
        Assert.Equal(new PatchGrid(1500, 1500, 50, 50, 50, 50), grid);
        Assert.Equal(900, grid.Count);
    }

    [Fact]
    public void GridFor_names_the_config_and_the_grid_when_N_disagrees()
    {
        var error = Assert.Throws<ArgumentException>(() =>
            PatchExtraction.GridFor(1400, 1500, [50, 50], [50, 50], 900, "mnist.yml"));
        Assert.Equal(
            "config mnist.yml: N (900) does not match the patch grid of a 1500 x 1400 (width x height) image with patch 50x50, stride 50x50 " +
            "(28 x 30 = 840 patches)",
            error.Message);
    }

    [Fact]
    public void GridFor_refuses_a_patch_larger_than_the_image()
    {
        var error = Assert.Throws<ArgumentException>(() => PatchExtraction.GridFor(40, 100, [50, 50], [50, 50], null, "a.yml"));
        Assert.Contains("config a.yml", error.Message, StringComparison.Ordinal);
        Assert.Contains("[50, 50] (height, width) is larger than the 100 x 40 (width x height) image", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void GridFor_refuses_a_stride_that_drops_pixels()
    {
        var error = Assert.Throws<ArgumentException>(() => PatchExtraction.GridFor(100, 110, [50, 50], [25, 25], null, "b.yml"));
        Assert.Contains("(110 - 50) is not a multiple of 25", error.Message, StringComparison.Ordinal);
        Assert.Contains("last 10 columns at the right would be silently dropped", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0, 50, 50, 50, "patch_size [0, 50] must be positive")]
    [InlineData(50, 50, 50, -1, "patch_stride [50, -1] must be positive")]
    public void GridFor_refuses_non_positive_sizes(int ph, int pw, int sy, int sx, string expected)
    {
        var error = Assert.Throws<ArgumentException>(() => PatchExtraction.GridFor(100, 100, [ph, pw], [sy, sx], null, "c.yml"));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Extract_refuses_an_image_of_another_size()
    {
        using var image = zeros(1, 5, 6);
        var error = Assert.Throws<ArgumentException>(() => PatchExtraction.Extract(image, new PatchGrid(4, 6, 2, 2, 2, 2)));
        Assert.Contains("[C, 4, 6]", error.Message, StringComparison.Ordinal);
    }
}
