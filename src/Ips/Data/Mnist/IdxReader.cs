using System.Buffers.Binary;
using System.IO.Compression;

namespace Ips.Data.Mnist;

/// <summary>
/// Reads MNIST's IDX files (LeCun's format): a big-endian magic <c>0x0000 08 0D</c> (unsigned bytes, D dimensions),
/// D big-endian int32 sizes, then the data. Files may be plain or gzip-compressed (<c>.gz</c>).
/// </summary>
public static class IdxReader
{
    /// <summary>Magic number of an image file: uint8, 3 dimensions <c>[n, rows, cols]</c>.</summary>
    public const int ImagesMagic = 0x00000803;

    /// <summary>Magic number of a label file: uint8, 1 dimension <c>[n]</c>.</summary>
    public const int LabelsMagic = 0x00000801;

    /// <summary>
    /// Loads the training (<c>train-*</c>) or test (<c>t10k-*</c>) split from <paramref name="directory"/>; each file
    /// may be plain or end in <c>.gz</c>.
    /// </summary>
    /// <exception cref="FileNotFoundException">A file is missing.</exception>
    /// <exception cref="InvalidDataException">A file is malformed, not 28x28, or the image and label counts differ.</exception>
    public static MnistSplit Load(string directory, bool train)
    {
        var prefix = train ? "train" : "t10k";
        var imagesPath = Find(directory, $"{prefix}-images-idx3-ubyte");
        var labelsPath = Find(directory, $"{prefix}-labels-idx1-ubyte");
        var (images, count, rows, cols) = ReadImages(imagesPath);
        if (rows != MnistSplit.Side || cols != MnistSplit.Side)
        {
            throw new InvalidDataException($"{imagesPath}: images are {rows}x{cols}, MNIST images are 28x28.");
        }
        var labels = ReadLabels(labelsPath);
        if (labels.Length != count)
        {
            throw new InvalidDataException(
                $"{labelsPath}: holds {labels.Length} labels but {imagesPath} holds {count} images; the two files must come from the same split.");
        }
        for (var i = 0; i < labels.Length; i++)
        {
            if (labels[i] > 9)
            {
                throw new InvalidDataException($"{labelsPath}: label {i} is {labels[i]}, expected 0..9.");
            }
        }
        return new MnistSplit(images, labels, directory);
    }

    /// <summary>The path of <paramref name="baseName"/> in <paramref name="directory"/>, plain preferred over <c>.gz</c>.</summary>
    /// <exception cref="FileNotFoundException">Neither exists.</exception>
    public static string Find(string directory, string baseName)
    {
        var plain = Path.Combine(directory, baseName);
        if (File.Exists(plain))
        {
            return plain;
        }
        var gz = plain + ".gz";
        if (File.Exists(gz))
        {
            return gz;
        }
        throw new FileNotFoundException($"MNIST file {baseName} (or {baseName}.gz) not found in {directory}.", plain);
    }

    /// <summary>Reads an image file: pixels <c>[n, rows, cols]</c> flattened, and the three sizes.</summary>
    /// <exception cref="InvalidDataException">Wrong magic, truncated or trailing data.</exception>
    public static (byte[] Pixels, int Count, int Rows, int Cols) ReadImages(string path)
    {
        var (dims, data) = Read(path, ImagesMagic, 3);
        return (data, dims[0], dims[1], dims[2]);
    }

    /// <summary>Reads a label file: <c>[n]</c>.</summary>
    /// <exception cref="InvalidDataException">Wrong magic, truncated or trailing data.</exception>
    public static byte[] ReadLabels(string path) => Read(path, LabelsMagic, 1).Data;

    private static (int[] Dims, byte[] Data) Read(string path, int expectedMagic, int rank)
    {
        var bytes = ReadAllBytes(path);
        var headerLength = 4 + (4 * rank);
        if (bytes.Length < headerLength)
        {
            throw new InvalidDataException($"{path}: {bytes.Length} bytes is too short for an IDX header of {headerLength} bytes.");
        }
        var magic = BinaryPrimitives.ReadInt32BigEndian(bytes);
        if (magic != expectedMagic)
        {
            throw new InvalidDataException(
                $"{path}: magic number 0x{magic:X8}, expected 0x{expectedMagic:X8} (IDX uint8 with {rank} dimension{(rank == 1 ? "" : "s")}).");
        }
        var dims = new int[rank];
        long payload = 1;
        for (var d = 0; d < rank; d++)
        {
            dims[d] = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(4 + (4 * d)));
            if (dims[d] < 0)
            {
                throw new InvalidDataException($"{path}: dimension {d} is negative ({dims[d]}).");
            }
            payload *= dims[d];
        }
        var expected = headerLength + payload;
        if (bytes.Length != expected)
        {
            var what = bytes.Length < expected ? "truncated" : "has trailing data";
            throw new InvalidDataException(
                $"{path}: {what}: {bytes.Length} bytes, expected {expected} for dimensions [{string.Join(", ", dims)}].");
        }
        return (dims, bytes.AsSpan(headerLength).ToArray());
    }

    private static byte[] ReadAllBytes(string path)
    {
        if (!path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase))
        {
            return File.ReadAllBytes(path);
        }
        try
        {
            using var file = File.OpenRead(path);
            using var gzip = new GZipStream(file, CompressionMode.Decompress);
            using var buffer = new MemoryStream();
            gzip.CopyTo(buffer);
            return buffer.ToArray();
        }
        catch (InvalidDataException error)
        {
            throw new InvalidDataException($"{path}: not a valid gzip file ({error.Message}).", error);
        }
    }
}
