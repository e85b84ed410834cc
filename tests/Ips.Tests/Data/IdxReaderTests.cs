using Ips.Data.Mnist;

namespace Ips.Tests.Data;

public sealed class IdxReaderTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Load_reads_back_the_written_splits(bool gz)
    {
        using var dir = new TempDir();
        var train = MnistTestData.Synthetic(23, salt: 1);
        var test = MnistTestData.Synthetic(11, salt: 2);
        MnistTestData.WriteSplits(dir.Path, train, test, gz);

        var readTrain = IdxReader.Load(dir.Path, train: true);
        var readTest = IdxReader.Load(dir.Path, train: false);

        Assert.Equal(23, readTrain.Count);
        Assert.Equal(train.Images, readTrain.Images);
        Assert.Equal(train.Labels, readTrain.Labels);
        Assert.Equal(11, readTest.Count);
        Assert.Equal(test.Images, readTest.Images);
        Assert.Equal(test.Labels, readTest.Labels);
    }

    [Fact]
    public void The_real_MNIST_files_have_their_known_counts_and_first_labels()
    {
        var train = MnistTestData.RealOrNull(train: true);
        var test = MnistTestData.RealOrNull(train: false);
        if (train is null || test is null)
        {
            return; // the written-file tests above cover the reader when the cache is absent
        }
        Assert.Equal(60000, train.Count);
        Assert.Equal(60000 * 784, train.Images.Length);
        Assert.Equal(10000, test.Count);
        Assert.Equal(10000 * 784, test.Images.Length);
        // The first training digit is a 5, the first test digit a 7 (LeCun's files).
        Assert.Equal(5, train.Labels[0]);
        Assert.Equal(7, test.Labels[0]);
        Assert.All(Enumerable.Range(0, 10), k => Assert.InRange(train.Labels.Count(l => l == k), 5000, 7000));
    }

    [Fact]
    public void Bad_magic_names_the_file()
    {
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, "labels");
        MnistTestData.Write(path, MnistTestData.Idx(IdxReader.ImagesMagic, [1], [3]));

        var error = Assert.Throws<InvalidDataException>(() => IdxReader.ReadLabels(path));
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains("magic number 0x00000803, expected 0x00000801", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("images")]
    [InlineData("images.gz")]
    public void Truncated_data_names_the_file(string name)
    {
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, name);
        var full = MnistTestData.ImagesIdx(MnistTestData.Synthetic(2));
        MnistTestData.Write(path, full[..^10]);

        var error = Assert.Throws<InvalidDataException>(() => IdxReader.ReadImages(path));
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains("truncated", error.Message, StringComparison.Ordinal);
        Assert.Contains($"expected {full.Length}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Trailing_data_and_short_headers_are_rejected()
    {
        using var dir = new TempDir();
        var trailing = Path.Combine(dir.Path, "trailing");
        MnistTestData.Write(trailing, MnistTestData.Idx(IdxReader.LabelsMagic, [2], [1, 2, 3]));
        var shortHeader = Path.Combine(dir.Path, "short");
        File.WriteAllBytes(shortHeader, [0, 0, 8, 3, 0]);

        Assert.Contains("trailing data", Assert.Throws<InvalidDataException>(() => IdxReader.ReadLabels(trailing)).Message, StringComparison.Ordinal);
        Assert.Contains(shortHeader, Assert.Throws<InvalidDataException>(() => IdxReader.ReadImages(shortHeader)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_count_mismatch_between_images_and_labels_names_both_files()
    {
        using var dir = new TempDir();
        var images = MnistTestData.Synthetic(5);
        var labels = MnistTestData.Synthetic(4);
        MnistTestData.Write(Path.Combine(dir.Path, "t10k-images-idx3-ubyte"), MnistTestData.ImagesIdx(images));
        MnistTestData.Write(Path.Combine(dir.Path, "t10k-labels-idx1-ubyte.gz"), MnistTestData.LabelsIdx(labels));

        var error = Assert.Throws<InvalidDataException>(() => IdxReader.Load(dir.Path, train: false));
        Assert.Contains("t10k-labels-idx1-ubyte.gz: holds 4 labels", error.Message, StringComparison.Ordinal);
        Assert.Contains("t10k-images-idx3-ubyte holds 5 images", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Images_that_are_not_28x28_and_labels_above_9_are_rejected()
    {
        using var dir = new TempDir();
        MnistTestData.Write(Path.Combine(dir.Path, "train-images-idx3-ubyte"), MnistTestData.Idx(IdxReader.ImagesMagic, [1, 2, 2], [1, 2, 3, 4]));
        MnistTestData.Write(Path.Combine(dir.Path, "train-labels-idx1-ubyte"), MnistTestData.Idx(IdxReader.LabelsMagic, [1], [12]));
        Assert.Contains("2x2", Assert.Throws<InvalidDataException>(() => IdxReader.Load(dir.Path, train: true)).Message, StringComparison.Ordinal);

        MnistTestData.Write(Path.Combine(dir.Path, "train-images-idx3-ubyte"), MnistTestData.ImagesIdx(MnistTestData.Synthetic(1)));
        Assert.Contains("label 0 is 12", Assert.Throws<InvalidDataException>(() => IdxReader.Load(dir.Path, train: true)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_file_names_both_spellings()
    {
        using var dir = new TempDir();
        var error = Assert.Throws<FileNotFoundException>(() => IdxReader.Load(dir.Path, train: true));
        Assert.Contains("train-images-idx3-ubyte (or train-images-idx3-ubyte.gz)", error.Message, StringComparison.Ordinal);
    }
}
