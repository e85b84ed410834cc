using Ips.Data;
using Ips.Data.OwnImages;
using Ips.Imaging;
using static TorchSharp.torch;

namespace Ips.Tests.Data.OwnImages;

/// <summary>Your own images in both layouts: classes, labels, per-image patch grids, image formats, resizing.</summary>
public sealed class OwnImagesDatasetTests : IDisposable
{
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    private string Data => _files.File("data");

    [Fact]
    public void ClassFoldersGiveSortedClassesAndValStandsInForTest()
    {
        OwnImagesTestData.Png(Path.Combine(Data, "train", "zebra", "a.png"), 40, 40);
        OwnImagesTestData.Png(Path.Combine(Data, "train", "ant", "b.png"), 40, 40);
        OwnImagesTestData.Png(Path.Combine(Data, "train", "ant", "nested", "c.png"), 40, 40);
        OwnImagesTestData.Png(Path.Combine(Data, "val", "zebra", "d.png"), 40, 40);
        var config = OwnImagesTestData.Config(Data);

        var train = Assert.IsType<OwnImagesDataset>(DatasetCatalog.Open(config, train: true));
        var test = Assert.IsType<OwnImagesDataset>(DatasetCatalog.Open(config, train: false));

        Assert.Equal(["ant", "zebra"], train.Listing.Classes["label"]);
        Assert.Equal(["train/ant/b.png", "train/ant/nested/c.png", "train/zebra/a.png"], train.Entries.Select(e => e.Path));
        Assert.Equal([2, 1], train.CountPerClass()["label"]);
        Assert.Equal(["val/zebra/d.png"], test.Entries.Select(e => e.Path));
        using var sample = test.Load(0, train: false);
        Assert.Equal(1L, sample.Labels["label"].item<long>());
        Assert.Equal(new[] { ("label", "ant") }, test.Listing.ClassesWithoutTestImages().ToArray());
        Assert.Equal(ImagePreprocessing.Images, ImagePreprocessing.OfDataSet(config));
    }

    [Fact]
    public void LabelsCsvGivesMultiTaskAndMultiLabelTargets()
    {
        OwnImagesTestData.Png(Path.Combine(Data, "img", "a.png"), 32, 32);
        OwnImagesTestData.Png(Path.Combine(Data, "img", "b.png"), 32, 32);
        OwnImagesTestData.Png(Path.Combine(Data, "img", "c.png"), 32, 32);
        File.WriteAllText(Path.Combine(Data, "labels.csv"),
            "path,label,split,parts\nimg/a.png,good,train,\"bolt;nut\"\nimg/b.png,bad,train,washer\nimg/c.png,good,test,nut\n");
        var config = OwnImagesTestData.Config(Data, 2,
            "tasks.task1.id=1", "tasks.task1.name=parts", "tasks.task1.act_fn=sigmoid", "tasks.task1.metric=multilabel_accuracy",
            "tasks.task1.n_class=3", "n_token=2");

        var train = (OwnImagesDataset)DatasetCatalog.Open(config, train: true);

        Assert.Equal("labels.csv", train.Listing.Layout);
        Assert.Equal(["bad", "good"], train.Listing.Classes["label"]);
        Assert.Equal(["bolt", "nut", "washer"], train.Listing.Classes["parts"]);
        using var first = train.Load(0, train: false);
        Assert.Equal(1L, first.Labels["label"].item<long>());
        Assert.Equal([1f, 1f, 0f], first.Labels["parts"].data<float>().ToArray());
    }

    [Fact]
    public void EachImageGetsItsOwnGridAndNoPatchIsOnlyPadding()
    {
        OwnImagesTestData.Png(Path.Combine(Data, "train", "a", "wide.png"), 20, 70, grey: 1f);
        OwnImagesTestData.Png(Path.Combine(Data, "train", "b", "tall.png"), 50, 17, grey: 1f);
        OwnImagesTestData.Png(Path.Combine(Data, "test", "a", "small.png"), 16, 16, grey: 1f);
        var config = OwnImagesTestData.Config(Data, 2, "patch_stride=[12, 12]");
        var train = (OwnImagesDataset)DatasetCatalog.Open(config, train: true);

        foreach (var (index, rows, cols) in new[] { (0, 2, 6), (1, 4, 2) })
        {
            using var sample = train.Load(index, train: false);
            var grid = sample.Grid!;
            Assert.Equal((rows, cols), (grid.Rows, grid.Cols));
            var (height, width) = train.Sizes[index];
            using var all = sample.Patches.Read(0, sample.Patches.Count); // [N, 3, 16, 16]
            for (var i = 0; i < grid.Count; i++)
            {
                var box = grid.Box(i);
                Assert.True(box.X < width && box.Y < height, $"patch {i} at ({box.X}, {box.Y}) lies in the padding of a {width} x {height} image");
                Assert.True(all[i].max().item<float>() == 1f, $"patch {i} holds no image pixel");
            }
            // Padding is zero, the image one: the pixels of the patches that are 1 are exactly the image's.
            using var image = PatchImage(sample);
            Assert.Equal(height * width, image.eq(1).sum().item<long>() / 3);
        }
    }

    [Fact]
    public void ImageSizeResizesEveryImageToOneGrid()
    {
        OwnImagesTestData.Png(Path.Combine(Data, "train", "a", "wide.png"), 20, 70);
        OwnImagesTestData.Png(Path.Combine(Data, "train", "b", "tall.png"), 50, 17);
        var config = OwnImagesTestData.Config(Data, 2, "image_size=[32, 48]", "B_seq=2");
        var train = (OwnImagesDataset)DatasetCatalog.Open(config, train: true);

        foreach (var index in new[] { 0, 1 })
        {
            using var sample = train.Load(index, train: false);
            Assert.Equal((32, 48, 6), (sample.Grid!.ImageHeight, sample.Grid.ImageWidth, sample.Patches.Count));
        }
    }

    [Fact]
    public void ImagesOfDifferentSizesNeedEagerSequentialLoading()
    {
        OwnImagesTestData.Png(Path.Combine(Data, "train", "a", "wide.png"), 20, 70);
        OwnImagesTestData.Png(Path.Combine(Data, "train", "b", "tall.png"), 50, 17);
        var config = OwnImagesTestData.Config(Data, 2, "B_seq=2");

        var error = Assert.Throws<ArgumentException>(() => DatasetCatalog.Open(config, train: true));
        Assert.Contains("differ in size", error.Message);
        Assert.Contains("B_seq: 1", error.Message);
    }

    [Theory]
    [InlineData(1, false)]
    [InlineData(3, false)]
    [InlineData(3, true)]
    public void SixteenBitTiffKeepsAllSixteenBits(int samples, bool tiled)
    {
        var path = _files.File("deep.tif");
        OwnImagesTestData.Tiff16(path, 20, 36, samples, tiled);

        using var image = ImageFile.Load(path, samples); // [C, 20, 36]

        Assert.Equal([samples, 20, 36], image.shape);
        var values = image.mul(65535).round().to(ScalarType.Int32).data<int>().ToArray();
        for (var c = 0; c < samples; c++)
        {
            for (var y = 0; y < 20; y += 3)
            {
                for (var x = 0; x < 36; x += 5)
                {
                    Assert.Equal(OwnImagesTestData.Tiff16Value(x, y, c), values[(c * 20 + y) * 36 + x]);
                }
            }
        }
    }

    [Fact]
    public void BmpDecodesToItsPixels()
    {
        var path = _files.File("photo.bmp");
        OwnImagesTestData.Bmp(path, 5, 7);

        using var image = ImageFile.Load(path, 3).mul(255).round(); // [3, 5, 7]

        Assert.Equal([3, 5, 7], image.shape);
        Assert.Equal(6f, image[0, 2, 6].item<float>());
        Assert.Equal(2f, image[1, 2, 6].item<float>());
        Assert.Equal(200f, image[2, 2, 6].item<float>());
    }

    // The padded image [3, H, W] back from the sample's patches (stride 12, patch 16: the overlaps agree).
    private static Tensor PatchImage(IpsSample sample)
    {
        var grid = sample.Grid!;
        var image = zeros(3, grid.ImageHeight, grid.ImageWidth);
        using var all = sample.Patches.Read(0, sample.Patches.Count);
        for (var i = 0; i < grid.Count; i++)
        {
            var box = grid.Box(i);
            image[.., box.Y..(box.Y + box.Height), box.X..(box.X + box.Width)] = all[i];
        }
        return image;
    }
}
