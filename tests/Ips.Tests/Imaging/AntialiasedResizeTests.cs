using Ips.Imaging;
using static TorchSharp.torch;

namespace Ips.Tests.Imaging;

/// <summary><see cref="AntialiasedResize"/> against libtorch's <c>interpolate(bilinear, antialias=True)</c>, an independent implementation of the same filter.</summary>
public sealed class AntialiasedResizeTests
{
    [Theory]
    [InlineData(358, 358, 224, 224)] // a tile at 0.4 um/px read from 0.25
    [InlineData(97, 61, 40, 33)] // non-square, different factors across and down
    [InlineData(300, 200, 299, 199)] // a reduction of under 1 %
    [InlineData(64, 64, 1, 1)] // everything into one pixel: the mean of the triangle-weighted pixels
    public void A_reduction_equals_libtorch_s_antialiased_bilinear_within_rounding(int width, int height, int outWidth, int outHeight)
    {
        var random = new Random(width * 1000 + height);
        var rgb = new byte[width * height * 3];
        random.NextBytes(rgb);

        var actual = AntialiasedResize.Rgb(rgb, width, height, outWidth, outHeight);

        using var scope = NewDisposeScope();
        var source = tensor(rgb, [1, height, width, 3]).permute(0, 3, 1, 2).to(ScalarType.Float32); // [1, 3, H, W]
        var expected = nn.functional.interpolate(source, [outHeight, outWidth], mode: InterpolationMode.Bilinear, align_corners: false, antialias: true)[0]
            .permute(1, 2, 0).round().clamp(0, 255); // [h, w, 3]
        var difference = (tensor(actual, [outHeight, outWidth, 3]).to(ScalarType.Float32) - expected).abs();
        // Random pixels put many exact values near x.5, where float sums of different order may round apart by one.
        Assert.True(difference.max().item<float>() <= 1, $"max difference {difference.max().item<float>()}");
        Assert.True(difference.mean().item<float>() < 0.02, $"mean difference {difference.mean().item<float>()}");
    }

    [Fact]
    public void The_same_size_returns_the_pixels_unchanged()
    {
        var rgb = new byte[13 * 7 * 3];
        new Random(3).NextBytes(rgb);
        Assert.Equal(rgb, AntialiasedResize.Rgb(rgb, 13, 7, 13, 7));
    }

    [Fact]
    public void A_buffer_of_the_wrong_length_is_refused()
    {
        var error = Assert.Throws<ArgumentException>(() => AntialiasedResize.Rgb(new byte[10], 2, 2, 1, 1));
        Assert.Contains("expected 2 x 2 x 3 bytes, got 10", error.Message, StringComparison.Ordinal);
    }
}
