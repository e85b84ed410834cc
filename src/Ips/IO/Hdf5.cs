using System.Collections.Concurrent;
using PureHDF;
using PureHDF.VOL.Native;

namespace Ips.IO;

/// <summary>
/// Opens HDF5 files with PureHDF after checking what PureHDF does not (<see cref="Hdf5Structure"/>): that the file
/// starts with an HDF5 superblock, is as long as that superblock says, and that no structure in it claims more than
/// the bytes that hold it. A feature file cut short by a full disk or an interrupted copy otherwise opens and reads
/// zeros or fails deep inside the library; here it fails at once with a message naming the file.
/// </summary>
internal static class Hdf5
{
    // PureHDF's filters are global: the bounded decoders replace its deflate and scale-offset ones before any read.
    static Hdf5() => Hdf5Filters.Register();

    /// <summary>
    /// The most values of a dataset read whole rather than by rows (tile coordinates, tile fractions): 2^25, 16 million
    /// tiles of (x, y), far beyond the tiles of the largest slides at 256 pixels; a damaged shape is refused before
    /// its buffer (256 MiB of int64 at most) is allocated (docs/reliability.md).
    /// </summary>
    public const long MaxWholeValues = 1L << 25;

    /// <summary>
    /// The largest chunk of a chunked dataset read: 64 MiB once decompressed. h5py's automatic chunks are at most
    /// 1 MiB and HDF5's guide recommends staying below that; PureHDF allocates a buffer of the chunk's size before
    /// reading it, so a damaged chunk shape is refused here first (docs/reliability.md).
    /// </summary>
    public const long MaxChunkBytes = 1L << 26;

    // Files already walked by Hdf5Structure, by path, length and time of last write: a split file is opened once per
    // slide and epoch, and its walk grows with its slides (5 ms for 300), so it is walked once per process while it
    // does not change.
    private static readonly ConcurrentDictionary<(string Path, long Length, DateTime Written), bool> Checked = new();

    /// <summary>Opens <paramref name="path"/> for reading; <see cref="InvalidDataException"/> naming the file when it is
    /// not HDF5 or is truncated, <see cref="FileNotFoundException"/> when it is missing.</summary>
    public static NativeFile OpenRead(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{path}: HDF5 file not found", path);
        }
        var info = new FileInfo(path);
        var version = (Path.GetFullPath(path), info.Length, info.LastWriteTimeUtc);
        if (!Checked.ContainsKey(version))
        {
            Hdf5Structure.Check(path);
            // A file written in the last seconds could be written again within the clock's granularity (the same
            // time of last write): it is walked again at the next open.
            if (DateTime.UtcNow - info.LastWriteTimeUtc > TimeSpan.FromSeconds(2))
            {
                Checked.TryAdd(version, true);
            }
        }
        try
        {
            return H5File.OpenRead(path);
        }
        catch (Exception error) when (error is not (OutOfMemoryException or OperationCanceledException))
        {
            throw new InvalidDataException($"{path}: not a readable HDF5 file ({error.Message})", error);
        }
        catch (OutOfMemoryException error)
        {
            throw TooLarge(path, error);
        }
    }

    /// <summary>Runs <paramref name="read"/>, turning the bare exceptions PureHDF throws on damaged content into one
    /// <see cref="InvalidDataException"/> that names the file and the object being read. Those include argument
    /// exceptions: PureHDF passes offsets and lengths read from the file straight to array and file calls, so a
    /// damaged address surfaces as an <see cref="ArgumentOutOfRangeException"/> (found by fuzzing, docs/reliability.md).</summary>
    public static T Guard<T>(string path, string what, Func<T> read)
    {
        try
        {
            return read();
        }
        catch (Exception error) when (error is not (InvalidDataException or OutOfMemoryException or OperationCanceledException))
        {
            throw new InvalidDataException($"{path}: cannot read {what}: the file is damaged or not in the expected layout ({Innermost(error).Message})", error);
        }
        catch (OutOfMemoryException error)
        {
            throw TooLarge(path, error);
        }
    }

    /// <summary>
    /// Checks, before any read of <paramref name="dataset"/>, that the storage its header describes can be in a file
    /// of <paramref name="path"/>'s length: contiguous and compact data (never compressed) must fit in the file whole;
    /// a chunked dataset may be compressed, but each of its chunks takes at least one byte of the file (ips, CLAM and
    /// TRIDENT write every row, so every chunk is stored), and one chunk decompressed is at most
    /// <see cref="MaxChunkBytes"/>. Virtual datasets, whose data lives in other files, are refused. PureHDF reads a
    /// damaged shape chunk by chunk or row by row as long as it claims, tens of thousands of lookups in a file of a
    /// few hundred bytes (found by fuzzing), and allocates a chunk's buffer from its claimed shape.
    /// </summary>
    /// <exception cref="InvalidDataException">The dataset claims more storage than the file can hold.</exception>
    public static void CheckStorage(string path, IH5Dataset dataset, string name)
    {
        var (dims, elementSize, layout) = Guard(path, $"the layout of '{name}'", () => (dataset.Space.Dimensions, (ulong)dataset.Type.Size, dataset.Layout.Class));
        var fileBytes = (UInt128)new FileInfo(path).Length;
        var shape = $"[{string.Join(", ", dims)}]";
        if (layout == H5DataLayoutClass.VirtualStorage)
        {
            throw new InvalidDataException($"{path}: dataset '{name}' is a virtual dataset (its data lives in other files); only data stored in the file itself is read");
        }
        if (layout != H5DataLayoutClass.Chunked)
        {
            var bytes = SizeClaims.Product([.. dims, elementSize]);
            if (bytes > fileBytes)
            {
                throw new InvalidDataException(
                    $"{path}: the file is damaged: dataset '{name}' claims shape {shape} of {elementSize}-byte values ({bytes} bytes), more than the file's {fileBytes} bytes");
            }
            return;
        }
        var chunk = Guard(path, $"the chunk shape of '{name}'", () => dataset.Layout.Chunks);
        if (chunk.Length != dims.Length || chunk.Any(side => side == 0))
        {
            throw new InvalidDataException(
                $"{path}: the file is damaged: dataset '{name}' of shape {shape} has chunks of [{string.Join(", ", chunk)}]");
        }
        var chunkBytes = SizeClaims.Product([.. chunk, elementSize]);
        var chunks = SizeClaims.Product(dims.Zip(chunk, (side, chunkSide) => side / chunkSide + (side % chunkSide == 0 ? 0UL : 1UL)));
        if (chunkBytes > MaxChunkBytes)
        {
            throw new InvalidDataException(
                $"{path}: the file is damaged: dataset '{name}' has chunks of [{string.Join(", ", chunk)}] ({chunkBytes} bytes); a chunk has at most {MaxChunkBytes} bytes");
        }
        if (chunks > fileBytes)
        {
            throw new InvalidDataException(
                $"{path}: the file is damaged: dataset '{name}' of shape {shape} in chunks of [{string.Join(", ", chunk)}] has {chunks} chunks, more than the file's {fileBytes} bytes can store");
        }
    }

    // PureHDF wraps what a filter throws in "Filter pipeline failed."; the innermost message says what is wrong.
    private static Exception Innermost(Exception error) => error.InnerException is { } inner ? Innermost(inner) : error;

    // PureHDF allocates a buffer of the size a structure claims (a name, a fill value, a chunk) before reading it.
    // Hdf5Structure checks those claims first; a failed allocation that still happens (a claim within the file's
    // length on a machine short of memory) is reported as a damaged or too large file naming it.
    private static InvalidDataException TooLarge(string path, OutOfMemoryException error) =>
        new($"{path}: the file is damaged: one of its structures claims more memory than is available ({error.Message})", error);
}
