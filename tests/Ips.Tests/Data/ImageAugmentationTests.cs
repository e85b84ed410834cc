using Ips.Data;
using Ips.Data.OwnImages;
using Ips.Tests.Data.OwnImages;
using static TorchSharp.torch;

namespace Ips.Tests.Data;

/// <summary>The shared augmentations keep the pixels (flips, rotations) and are drawn from the given random source.</summary>
public sealed class ImageAugmentationTests
{
    [Fact]
    public void FlipsAndRotationsRearrangePixelsAndCoverEveryCase()
    {
        using var image = arange(2 * 3 * 5, dtype: float32).reshape(2, 3, 5);
        var random = new Random(3);
        var shapes = new HashSet<string>();
        var flips = new HashSet<float>();
        for (var i = 0; i < 40; i++)
        {
            using var rotated = ImageAugmentation.Rotate90(image, random);
            using var flipped = ImageAugmentation.Flip(image, random);
            Assert.Equal(image.flatten().sort().Values.data<float>().ToArray(), rotated.flatten().sort().Values.data<float>().ToArray());
            Assert.Equal([2, 3, 5], flipped.shape);
            shapes.Add(string.Join("x", rotated.shape));
            flips.Add(flipped[0, 0, 0].item<float>());
        }
        Assert.Equal(["2x3x5", "2x5x3"], shapes.Order());
        Assert.Equal([0f, 4f, 10f, 14f], flips.Order()); // each corner comes to the top left
    }

    [Fact]
    public void TheConfigKeysSwitchTheAugmentationsOnInTrainingOnly()
    {
        using var files = new TempFiles();
        var data = files.File("data");
        OwnImagesTestData.Png(Path.Combine(data, "train", "a", "1.png"), 32, 64, grey: 0.5f);
        OwnImagesTestData.Png(Path.Combine(data, "train", "b", "2.png"), 32, 64, grey: 0.5f);
        var plain = OwnImagesTestData.Config(data);
        var augmented = OwnImagesTestData.Config(data, 2, "aug_rot90=True", "aug_color_jitter=0.3");

        var rotations = new HashSet<(int, int)>();
        var train = (OwnImagesDataset)DatasetCatalog.Open(augmented, train: true);
        var brightness = new HashSet<float>();
        for (var i = 0; i < 12; i++)
        {
            using var sample = train.Load(0, train: true);
            rotations.Add((sample.Grid!.ImageHeight, sample.Grid.ImageWidth));
            using var patches = sample.Patches.Read(0, 1);
            brightness.Add(patches.mean().item<float>());
        }
        using var test = train.Load(0, train: false);
        using var unaugmented = ((OwnImagesDataset)DatasetCatalog.Open(plain, train: true)).Load(0, train: true);

        Assert.Equal([(32, 64), (64, 32)], rotations.Order());
        Assert.True(brightness.Count > 1, "colour jitter changes the pixels");
        Assert.Equal((32, 64), (test.Grid!.ImageHeight, test.Grid.ImageWidth));
        using var testPatches = test.Patches.Read(0, test.Patches.Count);
        using var plainPatches = unaugmented.Patches.Read(0, unaugmented.Patches.Count);
        Assert.True(testPatches.eq(plainPatches).all().item<bool>(), "without aug_* keys, and in the test pass, images are not augmented");
    }
}
