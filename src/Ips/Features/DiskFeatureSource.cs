using System.Globalization;
using System.Runtime.InteropServices;
using Ips.Patches;
using Microsoft.Win32.SafeHandles;
using static TorchSharp.torch;

namespace Ips.Features;

/// <summary>
/// A float32 feature matrix <c>[N, n_chan_in]</c> stored row-major at a byte offset of a file and read from disk on
/// each <see cref="Read"/> or <see cref="Gather"/>, straight into the storage of the returned tensor. Memory does
/// not depend on <c>N</c>, and positional reads make concurrent calls safe.
/// </summary>
public abstract class DiskFeatureSource : IPatchSource
{
    private readonly SafeFileHandle _file;
    private readonly long _dataOffset;
    private readonly long _rowBytes;

    /// <summary>Opens <paramref name="path"/>, whose matrix of <paramref name="rows"/> x <paramref name="cols"/>
    /// float32 values starts at <paramref name="dataOffset"/>; throws when the file is too short to hold it.</summary>
    private protected DiskFeatureSource(string path, SafeFileHandle file, long dataOffset, long rows, long cols)
    {
        Path = path;
        _file = file;
        _dataOffset = dataOffset;
        if (rows == 0)
        {
            throw new InvalidDataException($"{path}: the feature matrix has 0 rows; IPS needs at least one patch (one row of features)");
        }
        if (rows < 0 || cols <= 0)
        {
            throw new InvalidDataException($"{path}: the feature matrix is [{rows}, {cols}]; rows and columns must be positive");
        }
        if (rows > int.MaxValue)
        {
            throw new InvalidDataException($"{path}: {rows} rows are more than the {int.MaxValue} patches supported");
        }

        Count = (int)rows;
        PatchShape = [cols];
        _rowBytes = cols * sizeof(float);
        // Sizes from a header are checked against the file before anything is allocated from them; in 128 bits,
        // since a damaged header's rows x cols can pass 2^63 and wrap a 64-bit product below the file length.
        Int128 needed = dataOffset + (Int128)rows * cols * sizeof(float);
        long length = RandomAccess.GetLength(file);
        if (dataOffset < 0 || length < needed)
        {
            throw new InvalidDataException(
                $"{path}: file is truncated: a [{rows}, {cols}] float32 matrix at byte {dataOffset} needs {needed} bytes, " +
                $"the file has {length}");
        }
    }

    /// <summary>The file the features are read from.</summary>
    public string Path { get; }

    /// <inheritdoc />
    public int Count { get; }

    /// <inheritdoc />
    public long[] PatchShape { get; }

    /// <summary>Always the CPU: rows come from disk into host memory; the caller moves them.</summary>
    public Device Device => CPU;

    /// <inheritdoc />
    public Tensor Read(int start, int count)
    {
        if (start < 0 || count < 0 || start > Count - count)
        {
            throw new ArgumentOutOfRangeException(
                nameof(start), $"{Path}: rows {start} .. {start + count - 1} are outside 0 .. {Count - 1}");
        }

        var result = empty([count, PatchShape[0]], ScalarType.Float32); // [count, n_chan_in]
        ReadRows(start, count, result, 0);
        return result;
    }

    /// <inheritdoc />
    public Tensor Gather(ReadOnlySpan<long> indices)
    {
        foreach (long index in indices)
        {
            if (index < 0 || index >= Count)
            {
                throw new ArgumentOutOfRangeException(nameof(indices), $"{Path}: row {index} is outside 0 .. {Count - 1}");
            }
        }

        var result = empty([indices.Length, PatchShape[0]], ScalarType.Float32); // [k, n_chan_in]
        int i = 0;
        while (i < indices.Length)
        {
            // One read per run of consecutive rows: selected patches often cluster.
            int run = 1;
            while (i + run < indices.Length && indices[i + run] == indices[i] + run)
            {
                run++;
            }

            ReadRows(indices[i], run, result, i);
            i += run;
        }

        return result;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _file.Dispose();
        GC.SuppressFinalize(this);
    }

    // destination is a contiguous CPU tensor, so its bytes span is its own storage: no intermediate buffer.
    private void ReadRows(long firstRow, int rows, Tensor destination, int destinationRow)
    {
        var target = destination.bytes.Slice(checked((int)(destinationRow * _rowBytes)), checked((int)(rows * _rowBytes)));
        long offset = _dataOffset + firstRow * _rowBytes;
        int done = 0;
        while (done < target.Length)
        {
            int got = RandomAccess.Read(_file, target[done..], offset + done);
            if (got == 0)
            {
                throw new InvalidDataException($"{Path}: file ended while reading rows {firstRow} .. {firstRow + rows - 1}");
            }

            done += got;
        }

        // As every feature reader does (FiniteValues): a NaN or infinity stops here, naming the row.
        var values = MemoryMarshal.Cast<byte, float>(target);
        if (FiniteValues.FirstNonFinite(values) is var i and >= 0)
        {
            throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                $"{Path}: row {firstRow + i / PatchShape[0]} holds {values[i]} (column {i % PatchShape[0]}); features must be finite numbers"));
        }
    }

    /// <summary>Opens <paramref name="path"/> for positional reads, with a message naming it when it is missing.</summary>
    private protected static SafeFileHandle OpenFile(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{path}: feature file not found", path);
        }

        return File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.RandomAccess);
    }

    /// <summary>Reads exactly <paramref name="buffer"/>.Length bytes at <paramref name="offset"/> or throws naming the file.</summary>
    private protected static void ReadExactly(SafeFileHandle file, string path, Span<byte> buffer, long offset, string what)
    {
        int done = 0;
        while (done < buffer.Length)
        {
            int got = RandomAccess.Read(file, buffer[done..], offset + done);
            if (got == 0)
            {
                throw new InvalidDataException($"{path}: file is truncated: it ends inside the {what}");
            }

            done += got;
        }
    }
}
