using System.Buffers.Binary;
using System.IO.Compression;
using Ips.Data.Mnist;

namespace Ips.Tests.Data;

/// <summary>Temporary directory removed on dispose.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "ips-tests-" + Guid.NewGuid().ToString("N"));

    public void Dispose() => Directory.Delete(Path, recursive: true);
}

/// <summary>Synthetic MNIST splits and IDX files, and the real files when the cache holds them.</summary>
internal static class MnistTestData
{
    /// <summary>
    /// <paramref name="count"/> images with labels <c>i % 10</c>; every pixel is nonzero and depends on the image index,
    /// so a pasted digit is recognisable on a canvas.
    /// </summary>
    public static MnistSplit Synthetic(int count, int salt = 0)
    {
        var images = new byte[count * MnistSplit.Pixels];
        var labels = new byte[count];
        for (var i = 0; i < count; i++)
        {
            labels[i] = (byte)(i % 10);
            for (var p = 0; p < MnistSplit.Pixels; p++)
            {
                images[(i * MnistSplit.Pixels) + p] = (byte)(1 + (((i * 31) + (p * 7) + salt) % 255));
            }
        }
        return new MnistSplit(images, labels, $"synthetic({count})");
    }

    /// <summary>The real MNIST split from the default cache, or null when the cache does not hold it.</summary>
    public static MnistSplit? RealOrNull(bool train)
    {
        var cache = MnistFetcher.DefaultCacheDir();
        return MnistFetcher.HasAllFiles(cache) ? IdxReader.Load(cache, train) : null;
    }

    public static byte[] ImagesIdx(MnistSplit split) =>
        Idx(IdxReader.ImagesMagic, [split.Count, MnistSplit.Side, MnistSplit.Side], split.Images);

    public static byte[] LabelsIdx(MnistSplit split) => Idx(IdxReader.LabelsMagic, [split.Count], split.Labels);

    public static byte[] Idx(int magic, int[] dims, byte[] data)
    {
        var bytes = new byte[4 + (4 * dims.Length) + data.Length];
        BinaryPrimitives.WriteInt32BigEndian(bytes, magic);
        for (var d = 0; d < dims.Length; d++)
        {
            BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4 + (4 * d)), dims[d]);
        }
        data.CopyTo(bytes, 4 + (4 * dims.Length));
        return bytes;
    }

    /// <summary>Writes <paramref name="bytes"/> to <paramref name="path"/>, gzip-compressed when it ends in .gz.</summary>
    public static void Write(string path, byte[] bytes)
    {
        if (!path.EndsWith(".gz", StringComparison.Ordinal))
        {
            File.WriteAllBytes(path, bytes);
            return;
        }
        using var file = File.Create(path);
        using var gzip = new GZipStream(file, CompressionLevel.Fastest);
        gzip.Write(bytes);
    }

    /// <summary>Writes both splits as the four IDX files into <paramref name="directory"/>.</summary>
    public static void WriteSplits(string directory, MnistSplit train, MnistSplit test, bool gz = false)
    {
        var suffix = gz ? ".gz" : "";
        Write(Path.Combine(directory, "train-images-idx3-ubyte" + suffix), ImagesIdx(train));
        Write(Path.Combine(directory, "train-labels-idx1-ubyte" + suffix), LabelsIdx(train));
        Write(Path.Combine(directory, "t10k-images-idx3-ubyte" + suffix), ImagesIdx(test));
        Write(Path.Combine(directory, "t10k-labels-idx1-ubyte" + suffix), LabelsIdx(test));
    }
}
