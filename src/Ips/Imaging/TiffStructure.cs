using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;

namespace Ips.Imaging;

/// <summary>
/// Walks a TIFF's chain of image file directories before LibTiff.NET reads it, and refuses what LibTiff.NET would
/// trust: a tag whose count claims more bytes than the file holds (LibTiff.NET allocates the claimed size before
/// reading, so a 20-byte change made it take 500 MB), a directory or tag data outside the file, a chain that loops
/// back on itself, and more than <see cref="MaxDirectories"/> directories (docs/reliability.md).
/// Classic TIFF (version 42) and BigTIFF (43), either byte order (TIFF 6.0, section 2; the BigTIFF proposal).
/// </summary>
internal static class TiffStructure
{
    /// <summary>The most directories a file may chain: far more than a slide's levels, thumbnail, label and macro.</summary>
    public const int MaxDirectories = 4096;

    /// <summary>
    /// Checks the structure of the TIFF at <paramref name="path"/>; <see cref="InvalidDataException"/> naming the file
    /// and the directory when it is damaged. Files that do not start with a TIFF header are left to the caller.
    /// </summary>
    public static void Check(string path)
    {
        using var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        long length = RandomAccess.GetLength(file);
        Span<byte> header = stackalloc byte[16];
        if (RandomAccess.Read(file, header, 0) < 8 || !TryLayout(header, out var layout))
        {
            return;
        }
        if (layout.Big && length < 16)
        {
            throw Damaged(path, length, "the BigTIFF header is cut short");
        }
        ulong next = layout.Big ? layout.U64(header[8..]) : layout.U32(header[4..]);
        var visited = new HashSet<ulong>();
        for (int index = 0; next != 0; index++)
        {
            if (!visited.Add(next))
            {
                throw Damaged(path, length, $"directory {index} at byte {next} is one seen before: the directory chain loops");
            }
            if (index >= MaxDirectories)
            {
                throw Damaged(path, length, $"more than {MaxDirectories} directories");
            }
            next = CheckDirectory(file, path, length, layout, index, next);
        }
    }

    // Reads directory index at offset, checks each entry's data lies inside the file, and returns the next offset.
    private static ulong CheckDirectory(SafeFileHandle file, string path, long length, Layout layout, int index, ulong offset)
    {
        int countSize = layout.Big ? 8 : 2, entrySize = layout.Big ? 20 : 12, nextSize = layout.Big ? 8 : 4;
        Span<byte> countBytes = stackalloc byte[8];
        if (offset > (ulong)length - (ulong)countSize || RandomAccess.Read(file, countBytes[..countSize], (long)offset) < countSize)
        {
            throw Damaged(path, length, $"directory {index} starts at byte {offset}, outside the file");
        }
        ulong count = layout.Big ? layout.U64(countBytes) : (ulong)layout.U16(countBytes);
        // The entries and the next offset must fit in the file; this also bounds the buffer read below.
        if (count > (ulong)length / (ulong)entrySize || offset + (ulong)countSize + count * (ulong)entrySize + (ulong)nextSize > (ulong)length)
        {
            throw Damaged(path, length, $"directory {index} at byte {offset} claims {count} entries, more than the file holds");
        }
        var entries = new byte[(int)count * entrySize + nextSize];
        RandomAccess.Read(file, entries, (long)offset + countSize);
        int inline = layout.Big ? 8 : 4;
        for (int i = 0; i < (int)count; i++)
        {
            var entry = entries.AsSpan(i * entrySize, entrySize);
            int tag = layout.U16(entry), type = layout.U16(entry[2..]);
            ulong values = layout.Big ? layout.U64(entry[4..]) : layout.U32(entry[4..]);
            UInt128 bytes = (UInt128)values * TypeSize(type);
            if (bytes <= (ulong)inline)
            {
                continue;
            }
            ulong at = layout.Big ? layout.U64(entry[12..]) : layout.U32(entry[8..]);
            if (bytes > (ulong)length || at + bytes > (ulong)length)
            {
                throw Damaged(path, length,
                    $"tag {tag} of directory {index} claims {values} values ({bytes} bytes) at byte {at}, beyond the end of the file");
            }
        }
        var tail = entries.AsSpan((int)count * entrySize);
        return layout.Big ? layout.U64(tail) : layout.U32(tail);
    }

    // Bytes per value of each TIFF field type (TIFF 6.0 section 2, BigTIFF's LONG8, SLONG8, IFD8); unknown types are
    // skipped by readers, so they are taken as one byte per value: their count still has to fit the file.
    private static uint TypeSize(int type) => type switch
    {
        3 or 8 => 2,
        4 or 9 or 11 or 13 => 4,
        5 or 10 or 12 or 16 or 17 or 18 => 8,
        _ => 1,
    };

    private static bool TryLayout(ReadOnlySpan<byte> header, out Layout layout)
    {
        layout = default;
        bool little = header[0] == 'I' && header[1] == 'I';
        if (!little && !(header[0] == 'M' && header[1] == 'M'))
        {
            return false;
        }
        layout = new Layout(little, false);
        int version = layout.U16(header[2..]);
        if (version is not (42 or 43))
        {
            return false;
        }
        layout = layout with { Big = version == 43 };
        return true;
    }

    private static InvalidDataException Damaged(string path, long length, string what) =>
        new($"{path}: damaged or truncated TIFF ({length} bytes): {what}");

    private readonly record struct Layout(bool Little, bool Big)
    {
        public int U16(ReadOnlySpan<byte> bytes) =>
            Little ? BinaryPrimitives.ReadUInt16LittleEndian(bytes) : BinaryPrimitives.ReadUInt16BigEndian(bytes);

        public uint U32(ReadOnlySpan<byte> bytes) =>
            Little ? BinaryPrimitives.ReadUInt32LittleEndian(bytes) : BinaryPrimitives.ReadUInt32BigEndian(bytes);

        public ulong U64(ReadOnlySpan<byte> bytes) =>
            Little ? BinaryPrimitives.ReadUInt64LittleEndian(bytes) : BinaryPrimitives.ReadUInt64BigEndian(bytes);
    }
}
