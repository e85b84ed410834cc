using System.Buffers.Binary;
using PureHDF;
using PureHDF.VOL.Native;

namespace Ips.IO;

/// <summary>
/// Opens HDF5 files with PureHDF after checking what PureHDF does not: that the file starts with an HDF5 superblock
/// and is as long as that superblock says. A feature file cut short by a full disk or an interrupted copy otherwise
/// opens and reads zeros or fails deep inside the library; here it fails at once with a message naming the file.
/// </summary>
internal static class Hdf5
{
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

    private static readonly byte[] Signature = [0x89, (byte)'H', (byte)'D', (byte)'F', 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>Opens <paramref name="path"/> for reading; <see cref="InvalidDataException"/> naming the file when it is
    /// not HDF5 or is truncated, <see cref="FileNotFoundException"/> when it is missing.</summary>
    public static NativeFile OpenRead(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{path}: HDF5 file not found", path);
        }
        CheckSuperblock(path);
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
            throw new InvalidDataException($"{path}: cannot read {what}: the file is damaged or not in the expected layout ({error.Message})", error);
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

    // PureHDF allocates a buffer of the size a structure claims (a name, a fill value, a chunk) before reading it,
    // with no check against the file's length; a damaged size of up to 2 GiB is allocated, or fails under a memory
    // limit (docs/reliability.md). Only that failure can be turned into an error naming the file.
    private static InvalidDataException TooLarge(string path, OutOfMemoryException error) =>
        new($"{path}: the file is damaged: one of its structures claims more memory than is available ({error.Message})", error);

    /// <summary>
    /// Finds the superblock (at byte 0, 512, 1024, 2048, ...) and checks the file's length against its end-of-file
    /// address (HDF5 file format, section II.A: versions 0 and 1 store it after the base and free-space addresses,
    /// versions 2 and 3 after the base and superblock-extension addresses).
    /// </summary>
    private static void CheckSuperblock(string path)
    {
        using var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        long length = RandomAccess.GetLength(file);
        Span<byte> head = stackalloc byte[64];
        for (long at = 0; at + Signature.Length <= length; at = at == 0 ? 512 : at * 2)
        {
            int got = RandomAccess.Read(file, head, at);
            if (got < Signature.Length || !head[..Signature.Length].SequenceEqual(Signature))
            {
                continue;
            }
            int version = head[8];
            (int offsetSize, int addresses) = version switch
            {
                0 => (head[13], 24),
                1 => (head[13], 28),
                2 or 3 => (head[9], 12),
                _ => throw new InvalidDataException($"{path}: HDF5 superblock version {version} is not supported (0 to 3 are)"),
            };
            if (offsetSize != 8 || addresses + 3 * offsetSize > got)
            {
                // 8-byte addresses are what h5py, HDF5 and PureHDF write; other sizes are left to PureHDF to judge.
                return;
            }
            ulong baseAddress = BinaryPrimitives.ReadUInt64LittleEndian(head[addresses..]);
            ulong endOfFile = BinaryPrimitives.ReadUInt64LittleEndian(head[(addresses + 2 * offsetSize)..]);
            if (endOfFile != ulong.MaxValue && baseAddress + endOfFile > (ulong)length)
            {
                throw new InvalidDataException(
                    $"{path}: HDF5 file is truncated: its superblock says it ends at byte {baseAddress + endOfFile}, the file has {length} bytes");
            }
            return;
        }
        throw new InvalidDataException($"{path}: not an HDF5 file (no HDF5 signature found{(length == 0 ? "; the file is empty" : "")})");
    }
}
