using Ips.Data;
using Ips.Data.Traffic;
using Ips.Features;
using Ips.Imaging;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Ips.Tests.Data.Traffic;

/// <summary>The traffic-sign preprocessing against the official torchvision transform, and the augmentation.</summary>
public sealed class TrafficPreprocessingTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    private static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Data", "Traffic", "Fixtures", name);

    /// <summary>
    /// Fixtures from make_preprocessing_fixture.py: PIL Resize, ToTensor, Normalize. PIL rounds its resize to 8 bits;
    /// so does ours, and the two bilinear filters (PIL's fixed point, libtorch's antialiased float) can round a value
    /// to neighbouring levels: one 8-bit level is 1 / (255 * 0.224) = 0.0175 after normalisation.
    /// </summary>
    [Theory]
    [InlineData("up", 1200, 1600, 40, 7, 11)]
    [InlineData("down", 60, 80, 1, 0, 0)]
    public void ResizeAndNormalisationMatchTorchvisionOnPil(string name, int height, int width, int step, int rowOffset, int colOffset)
    {
        using var scope = NewDisposeScope();
        var photo = ImageFile.Load(Fixture($"photo-{name}.png"), 3);
        using var prepared = new TrafficPreprocessing(height, width).Prepare(photo);
        Assert.Equal([3L, height, width], prepared.Input.shape);
        var kept = prepared.Input[.., TensorIndex.Slice(rowOffset, null, step), TensorIndex.Slice(colOffset, null, step)]; // [3, rows, cols]

        using var expectedSource = NpyFeatureSource.Open(Fixture($"expected-{name}.npy"));
        var expected = expectedSource.Read(0, expectedSource.Count).reshape(kept.shape);
        var difference = kept.sub(expected).abs();
        var max = difference.max().item<float>();
        var levels = difference.mul(255 * 0.224f).round();
        var offByOne = levels.ge(1).to(ScalarType.Float32).mean().item<float>();
        output.WriteLine($"{name}: largest difference {max:F5} (normalised units), pixels differing by a level or more: {offByOne:P2}");
        // Measured: the largest difference is one level (0.0175) on both fixtures, with 19 % (up) and 12 % (down) of
        // the values one level apart and none further.
        Assert.True(max <= 0.0176f, $"largest difference {max}");
        Assert.True(offByOne < 0.25, $"{offByOne:P2} of the values differ by an 8-bit level or more");
        // The picture for attention maps is the resized photo in [0, 1].
        Assert.True(prepared.Picture.min().item<float>() >= 0 && prepared.Picture.max().item<float>() <= 1);
    }

    [Fact]
    public void ImageSizeIsTheThreeByFourGridOfNPatches()
    {
        Assert.Equal(new TrafficPreprocessing(1200, 1600), TrafficPreprocessing.FromConfig(
            Ips.Configuration.ConfigLoader.Load(TrafficTestConfig.RepositoryConfig())));
        Assert.Equal(new TrafficPreprocessing(96, 128), TrafficPreprocessing.FromConfig(TrafficTestConfig.Scaled("unused")));
        var error = Assert.Throws<ArgumentException>(() => TrafficPreprocessing.FromConfig(TrafficTestConfig.Scaled("unused") with { N = 50 }));
        Assert.Contains("N (50)", error.Message);
    }

    [Fact]
    public void ShiftMovesByWholePixelsAndFillsBlack()
    {
        using var scope = NewDisposeScope();
        var image = arange(3 * 4 * 5, dtype: ScalarType.Float32).reshape(3, 4, 5).add(1);
        var shifted = ImageAugmentation.Shift(image, dx: 2, dy: -1); // [3, 4, 5]
        Assert.True(shifted[.., TensorIndex.Slice(0, 3), TensorIndex.Slice(2, 5)].eq(image[.., TensorIndex.Slice(1, 4), TensorIndex.Slice(0, 3)]).all().item<bool>());
        Assert.Equal(0f, shifted[.., 3, ..].abs().sum().item<float>());
        Assert.Equal(0f, shifted[.., .., TensorIndex.Slice(0, 2)].abs().sum().item<float>());
    }

    [Fact]
    public void ColourJitterStaysInRangeAndStaysNearTheImage()
    {
        using var scope = NewDisposeScope();
        var generator = new Random(3);
        var image = rand(3, 40, 50, generator: new Generator(5));
        for (var i = 0; i < 5; i++)
        {
            var jittered = ImageAugmentation.ColorJitter(image, 0.1, generator);
            Assert.Equal(image.shape, jittered.shape);
            Assert.True(jittered.min().item<float>() >= 0 && jittered.max().item<float>() <= 1);
            // Factors within 10 % and a hue turn of at most 0.1 move pixels, but not to arbitrary colours.
            var change = jittered.sub(image).abs().mean().item<float>();
            Assert.InRange(change, 1e-4f, 0.25f);
        }
    }

    [Fact]
    public void TrainingAugmentationKeepsSizeAndLabelAndChangesPixels()
    {
        StsTestData.Write(_files.Root, perClass: 1, width: 64, height: 48);
        var dataset = new TrafficSignsDataset(_files.Root, train: true, TrafficTestConfig.Scaled(_files.Root));
        for (var index = 0; index < dataset.Count; index++)
        {
            using var plain = dataset.Load(index, train: false);
            using var augmented = dataset.Load(index, train: true);
            Assert.Equal(plain.Labels["sign"].item<long>(), augmented.Labels["sign"].item<long>());
            Assert.Equal(dataset.Items[index].Label, augmented.Labels["sign"].item<long>());
            using var a = plain.Patches.Read(0, plain.Patches.Count);
            using var b = augmented.Patches.Read(0, augmented.Patches.Count);
            Assert.Equal(a.shape, b.shape);
            Assert.Equal([48L, 3, 16, 16], b.shape);
            Assert.False(a.allclose(b), "augmentation left the image unchanged");
        }
    }

    [Fact]
    public void TrainingRecordsTheTrafficPreprocessingOfAnStsDataDirAndPredictionNamesIt()
    {
        StsTestData.Write(_files.Root, perClass: 1, width: 64, height: 48);
        var recorded = ImagePreprocessing.Record(TrafficTestConfig.Scaled(_files.Root));
        Assert.Equal(ImagePreprocessing.Traffic, recorded.TestPreprocessing);
        var preprocessing = ImagePreprocessing.Named(recorded.TestPreprocessing!, recorded);
        Assert.Equal(new TrafficPreprocessing(96, 128), preprocessing);
        using var photo = rand(3, 33, 47);
        using var prepared = preprocessing.Prepare(photo);
        Assert.Equal([3L, 96, 128], prepared.Input.shape);
        // Megapixel MNIST and plain images: pixels stay as they are.
        using var same = ImagePreprocessing.Named(ImagePreprocessing.None, recorded).Prepare(photo);
        Assert.True(same.Input.eq(photo).all().item<bool>());
        // A config that says otherwise than its data set is refused when the run starts.
        var wrong = Assert.Throws<ArgumentException>(() => ImagePreprocessing.Record(recorded with { TestPreprocessing = ImagePreprocessing.None }));
        Assert.Contains("test_preprocessing is none, but data_dir", wrong.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AConfigThatRecordsNoPreprocessingGetsTheTrafficOneByItsGeometryAndClassesAlone()
    {
        var absent = TrafficTestConfig.Scaled(Path.Combine(_files.Root, "absent"));
        Assert.True(TrafficPreprocessing.Fits(absent));
        Assert.Equal(ImagePreprocessing.Traffic, ImagePreprocessing.DefaultFor(absent));
        Assert.Equal(ImagePreprocessing.None, ImagePreprocessing.DefaultFor(absent with { NChanIn = 1 }));
        Assert.Equal(ImagePreprocessing.None, ImagePreprocessing.DefaultFor(absent with { N = 50 }));
        Assert.Equal(ImagePreprocessing.None, ImagePreprocessing.DefaultFor(absent with { Tasks = [absent.Tasks[0] with { NClass = 10 }] }));
        Assert.Equal(ImagePreprocessing.None, ImagePreprocessing.DefaultFor(absent with { IsImage = false }));
    }
}
