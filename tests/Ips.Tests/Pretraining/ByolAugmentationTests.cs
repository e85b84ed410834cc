using Ips.Encoders;
using Ips.Pretraining;
using static TorchSharp.torch;

namespace Ips.Tests.Pretraining;

/// <summary>The two BYOL views: shapes, ranges, reproducibility, and each transform's defining property.</summary>
public sealed class ByolAugmentationTests
{
    private static Tensor Tiles(int batch = 6, int size = 40, ulong seed = 3)
    {
        using var generator = new Generator(seed);
        return rand([batch, 3, size, size], generator: generator);
    }

    private static ByolAugmentation Augmentation(params string[] overrides) =>
        new(ByolConfigLoader.Parse("", "(test)", ["image_size=32", "blur_kernel=9", .. overrides]));

    private static void AssertInUnitRange(Tensor x)
    {
        Assert.True(x.min().item<float>() >= 0f, $"min {x.min().item<float>()}");
        Assert.True(x.max().item<float>() <= 1f, $"max {x.max().item<float>()}");
    }

    [Fact]
    public void The_two_views_differ_have_the_view_size_and_repeat_for_the_same_seed()
    {
        using var tiles = Tiles();
        var augmentation = Augmentation();
        var (view1, view2) = augmentation.Views(tiles, seed: 11);
        using (view1)
        using (view2)
        {
            Assert.Equal(new long[] { 6, 3, 32, 32 }, view1.shape);
            Assert.Equal(new long[] { 6, 3, 32, 32 }, view2.shape);
            Assert.True((view1 - view2).abs().mean().item<float>() > 0.1f);
            using var again = augmentation.View(tiles, 0, seed: 11);
            Assert.True(again.allclose(view1, rtol: 0, atol: 0));
            using var otherStep = augmentation.View(tiles, 0, seed: 12);
            Assert.False(otherStep.allclose(view1, rtol: 0, atol: 0));
        }
        foreach (var view in new[] { 0, 1 })
        {
            using var unnormalised = augmentation.View(tiles, view, seed: 11, normalise: false);
            Assert.Equal(new long[] { 6, 3, 32, 32 }, unnormalised.shape);
            AssertInUnitRange(unnormalised);
        }
    }

    [Fact]
    public void Geometry_of_a_full_crop_is_one_of_the_eight_rotations_and_flips_of_the_tile()
    {
        using var tiles = Tiles(batch: 8, size: 32);
        var augmentation = Augmentation("crop_scale=[1.0, 1.0]");
        using var output = augmentation.Geometry(tiles, new Random(5));
        Assert.Equal(tiles.shape, output.shape);
        var seen = new HashSet<string>();
        for (var b = 0; b < 8; b++)
        {
            using var scope = NewDisposeScope();
            var tile = tiles[b];
            var candidates = new List<(string Name, Tensor Image)>();
            // The dihedral group of the square: the tile or its transpose, each with no, vertical, horizontal or both flips.
            foreach (var (name, image) in new[] { ("id", tile), ("transpose", tile.transpose(1, 2)) })
            {
                candidates.Add((name, image));
                candidates.Add((name + "+v", image.flip(1)));
                candidates.Add((name + "+h", image.flip(2)));
                candidates.Add((name + "+vh", image.flip(1, 2)));
            }
            var match = candidates.FirstOrDefault(c => (c.Image - output[b]).abs().max().item<float>() < 1e-5f);
            Assert.NotNull(match.Name);
            seen.Add(match.Name);
        }
        Assert.True(seen.Count > 1, "the rotations and flips are random per tile");
    }

    [Fact]
    public void Crop_box_follows_torchvision_ranges_of_area_and_aspect_ratio()
    {
        var augmentation = Augmentation();
        var random = new Random(2);
        for (var i = 0; i < 200; i++)
        {
            var (top, left, h, w) = augmentation.CropBox(100, 120, random);
            Assert.InRange(top, 0, 100 - h);
            Assert.InRange(left, 0, 120 - w);
            // Area fraction in [0.2, 1] and ratio in [3/4, 4/3], up to the rounding of the sides.
            Assert.InRange(h * w / 12000.0, 0.18, 1.0);
            Assert.InRange((double)w / h, 0.7, 1.4);
        }
    }

    [Fact]
    public void Colour_jitter_keeps_shape_and_range_and_changes_every_tile_when_p_is_one()
    {
        using var tiles = Tiles();
        using var jittered = Augmentation("jitter_p=1.0").ColorJitter(tiles, new Random(4));
        Assert.Equal(tiles.shape, jittered.shape);
        AssertInUnitRange(jittered);
        for (var b = 0; b < 6; b++)
        {
            Assert.True((jittered[b] - tiles[b]).abs().max().item<float>() > 1e-3f, $"tile {b} unchanged");
        }
        using var untouched = Augmentation("jitter_p=0.0").ColorJitter(tiles, new Random(4));
        Assert.True(untouched.allclose(tiles, rtol: 0, atol: 0));
    }

    [Fact]
    public void Brightness_contrast_saturation_and_hue_match_their_definitions()
    {
        using var scope = NewDisposeScope();
        var tiles = Tiles(batch: 2, size: 8);
        var half = full([2, 1, 1, 1], 0.5f);
        var zero = zeros(2, 1, 1, 1);
        Assert.True(ByolAugmentation.AdjustBrightness(tiles, half).allclose(tiles * 0.5f));
        // Contrast 0 gives the image's mean grey level everywhere; saturation 0 gives its grey version.
        var flat = ByolAugmentation.AdjustContrast(tiles, zero);
        var meanGrey = ByolAugmentation.Grey(tiles).mean([1, 2, 3], keepdim: true).expand_as(tiles);
        Assert.True(flat.allclose(meanGrey, rtol: 0, atol: 1e-6));
        Assert.True(ByolAugmentation.AdjustSaturation(tiles, zero).allclose(ByolAugmentation.Grey(tiles).expand_as(tiles), rtol: 0, atol: 1e-6));
        // Hue: a zero shift is the identity (through HSV and back), a third of a turn sends red to green.
        Assert.True(ByolAugmentation.AdjustHue(tiles, zero).allclose(tiles, rtol: 0, atol: 1e-5));
        var red = tensor(new float[] { 1, 0, 0, 0.8f, 0.2f, 0.2f }, [2, 3, 1, 1]);
        var shifted = ByolAugmentation.AdjustHue(red, full([2, 1, 1, 1], 1f / 3));
        Assert.True(shifted.allclose(tensor(new float[] { 0, 1, 0, 0.2f, 0.8f, 0.2f }, [2, 3, 1, 1]), rtol: 0, atol: 1e-5));
    }

    [Fact]
    public void Greyscale_blur_and_solarisation_keep_shape_and_range_and_do_what_they_say()
    {
        using var scope = NewDisposeScope();
        var tiles = Tiles();
        var augmentation = Augmentation("grey_p=1.0");

        var grey = augmentation.Greyscale(tiles, new Random(1));
        Assert.Equal(tiles.shape, grey.shape);
        AssertInUnitRange(grey);
        Assert.True(grey[.., 0].allclose(grey[.., 1], rtol: 0, atol: 0) && grey[.., 1].allclose(grey[.., 2], rtol: 0, atol: 0));

        var blurred = augmentation.Blur(tiles, new Random(1), p: 1.0);
        Assert.Equal(tiles.shape, blurred.shape);
        AssertInUnitRange(blurred);
        // Uniform noise loses most of its variance under a Gaussian blur, and the mean stays.
        Assert.True(blurred.var().item<float>() < 0.8f * tiles.var().item<float>());
        Assert.Equal(tiles.mean().item<float>(), blurred.mean().item<float>(), 0.02f);
        Assert.True(augmentation.Blur(tiles, new Random(1), p: 0.0).allclose(tiles, rtol: 0, atol: 0));

        var solarised = ByolAugmentation.Solarize(tiles, new Random(1), p: 1.0);
        Assert.Equal(tiles.shape, solarised.shape);
        AssertInUnitRange(solarised);
        Assert.True(solarised.allclose(where(tiles >= 0.5, 1 - tiles, tiles)));
        Assert.True(solarised.max().item<float>() <= 0.5f);
    }

    [Fact]
    public void Normalisation_is_imagenet_mean_and_std()
    {
        using var scope = NewDisposeScope();
        var mean = tensor(ImageNetNormalisation.Mean).view(1, 3, 1, 1).expand(1, 3, 2, 2);
        Assert.True(ImageNetNormalisation.Apply(mean).abs().max().item<float>() < 1e-6f);
        var plusStd = mean + tensor(ImageNetNormalisation.Std).view(1, 3, 1, 1);
        Assert.True(ImageNetNormalisation.Apply(plusStd).allclose(ones(1, 3, 2, 2), rtol: 0, atol: 1e-6));
        Assert.Equal(new[] { 0.485f, 0.456f, 0.406f }, ImageNetNormalisation.Mean);
        Assert.Equal(new[] { 0.229f, 0.224f, 0.225f }, ImageNetNormalisation.Std);
    }
}
