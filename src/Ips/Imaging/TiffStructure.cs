using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;

namespace Ips.Imaging;

/// <summary>
/// Walks a TIFF's chain of image file directories before LibTiff.NET reads it, and refuses what LibTiff.NET would
/// trust: a tag whose count claims more bytes than the file holds (LibTiff.NET allocates the claimed size before
/// reading, so a 20-byte change made it take 500 MB), a directory or tag data outside the file, a chain that loops
/// back on itself, an image size that implies more tiles or strips than the directory lists (LibTiff.NET allocates
/// for the implied number), a tile or strip whose listed bytes run past the end of the file (LibTiff.NET allocates a
/// buffer of its listed size to read it), and more than <see cref="MaxDirectories"/> directories
/// (docs/reliability.md).
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
        var numbers = new Dictionary<int, ulong>();
        var counts = new Dictionary<int, ulong>();
        var places = new Dictionary<int, (int Type, ulong At, ulong Count)>();
        var blockTags = new List<(int Tag, int Type, ulong At, ulong Count)>();
        for (int i = 0; i < (int)count; i++)
        {
            var entry = entries.AsSpan(i * entrySize, entrySize);
            int tag = layout.U16(entry), type = layout.U16(entry[2..]);
            ulong values = layout.Big ? layout.U64(entry[4..]) : layout.U32(entry[4..]);
            counts[tag] = values;
            UInt128 bytes = (UInt128)values * TypeSize(type);
            bool isInline = bytes <= (ulong)inline;
            ulong at = isInline ? (ulong)offset + (ulong)countSize + (ulong)(i * entrySize + (layout.Big ? 12 : 8))
                : layout.Big ? layout.U64(entry[12..]) : layout.U32(entry[8..]);
            if (!isInline && (bytes > (ulong)length || at + bytes > (ulong)length))
            {
                throw Damaged(path, length,
                    $"tag {tag} of directory {index} claims {values} values ({bytes} bytes) at byte {at}, beyond the end of the file");
            }
            // The first occurrence of a tag with integer values is the one paired below; a repeated tag with another
            // type must not hide it (found by fuzzing: StripOffsets listed three times, the last of an unknown type).
            if (!places.TryGetValue(tag, out var first) || !IsInteger(first.Type))
            {
                places[tag] = (type, at, values);
            }
            if (tag is 273 or 279 or 324 or 325 && IsInteger(type))
            {
                blockTags.Add((tag, type, at, values));
            }
            // LibTiff.NET takes a size tag's first value whatever its count (found by fuzzing: a RowsPerStrip of 18
            // values made it divide the image into 177 million strips), so the first value is what counts here too,
            // and where a tag is repeated or malformed, the value that implies the most blocks.
            if (values >= 1 && IsInteger(type))
            {
                ulong value = isInline ? Integer(layout, type, entry[(layout.Big ? 12 : 8)..]) : ReadInteger(file, layout, type, at);
                numbers[tag] = numbers.TryGetValue(tag, out var seen) ? Worst(tag, seen, value) : value;
                if (tag == 278 && (values != 1 || value == 0))
                {
                    numbers[tag] = 1;
                }
            }
        }
        CheckBlockCount(path, length, index, numbers, counts);
        CheckBlockBytes(file, path, length, layout, index, places, blockTags);
        var tail = entries.AsSpan((int)count * entrySize);
        return layout.Big ? layout.U64(tail) : layout.U32(tail);
    }

    // LibTiff allocates its tile (or strip) offset and size tables for the number of blocks the image size implies,
    // not for the number the file lists: a header claiming 10^6 x 10^6 pixels in 64-pixel tiles would cost it 4 GB.
    // The TIFF specification requires one offset per block, and the listed offsets were checked to fit in the file
    // above, so requiring that many listed offsets bounds those tables by the file's length.
    private static void CheckBlockCount(string path, long length, int index, Dictionary<int, ulong> numbers, Dictionary<int, ulong> counts)
    {
        const int ImageWidth = 256, ImageLength = 257, StripOffsets = 273, SamplesPerPixel = 277, RowsPerStrip = 278,
            PlanarConfiguration = 284, TileWidth = 322, TileLength = 323, TileOffsets = 324;
        // LibTiff.NET reads an image as tiled when either tile side is given (found by fuzzing: a TileWidth of 1 alone
        // made it list 1.6 billion tiles), so a missing side counts as 1, the side that implies the most tiles.
        bool tiled = numbers.ContainsKey(TileWidth) || numbers.ContainsKey(TileLength);
        ulong tileWidth = numbers.GetValueOrDefault(TileWidth, 1UL), tileLength = numbers.GetValueOrDefault(TileLength, 1UL);
        // Strips depend on the height alone: a width LibTiff.NET reads from a tag of another type (found by fuzzing)
        // must not let a 268-million-row strip image through.
        if (!numbers.TryGetValue(ImageLength, out var height) || height == 0
            || (tiled && (!numbers.TryGetValue(ImageWidth, out _) || numbers[ImageWidth] == 0)))
        {
            return; // LibTiff refuses a directory without a size itself, before allocating for it.
        }
        ulong width = numbers.GetValueOrDefault(ImageWidth);
        UInt128 blocks;
        if (tiled)
        {
            if (tileWidth == 0 || tileLength == 0)
            {
                throw Damaged(path, length, $"directory {index} has a tile size of {tileWidth} x {tileLength}");
            }
            // A tile is decoded whole into a buffer of its size: no more pixels than the file could hold compressed.
            if ((UInt128)tileWidth * tileLength > (UInt128)length * (ulong)ImageFile.MaxPixelsPerByte)
            {
                throw Damaged(path, length, $"directory {index} has tiles of {tileWidth} x {tileLength} pixels, more than a file of {length} bytes can hold");
            }
            blocks = (UInt128)((width + tileWidth - 1) / tileWidth) * ((height + tileLength - 1) / tileLength);
        }
        else
        {
            ulong rows = numbers.TryGetValue(RowsPerStrip, out var perStrip) && perStrip > 0 ? Math.Min(perStrip, height) : height;
            blocks = (height + rows - 1) / rows;
        }
        if (numbers.TryGetValue(PlanarConfiguration, out var planar) && planar == 2)
        {
            blocks *= numbers.GetValueOrDefault(SamplesPerPixel, 1UL);
        }
        ulong listed = counts.GetValueOrDefault(tiled ? TileOffsets : StripOffsets);
        if (blocks > listed)
        {
            throw Damaged(path, length,
                $"directory {index} claims {width} x {height} pixels in {blocks} {(tiled ? "tiles" : "strips")} but lists {listed} offsets");
        }
    }

    // Every tile or strip LibTiff.NET reads, it reads into a buffer of its listed byte count: each listed block must
    // lie inside the file (found by fuzzing: one strip of 2 GB listed in an 830-byte file). Sparse blocks (offset and
    // count 0) are allowed, as LibTiff writes them.
    private static void CheckBlockBytes(SafeFileHandle file, string path, long length, Layout layout, int index,
        Dictionary<int, (int Type, ulong At, ulong Count)> places, List<(int Tag, int Type, ulong At, ulong Count)> blockTags)
    {
        var checkedPairs = new HashSet<ulong>();
        foreach (var (offsets, sizes) in new[] { (273, 279), (324, 325) })
        {
            if (!places.TryGetValue(offsets, out var offsetPlace) || !IsInteger(offsetPlace.Type))
            {
                continue;
            }
            // Without byte counts LibTiff.NET estimates them from where each block starts: the file's length less
            // the offset, a negative number turned into hundreds of megabytes for an offset past the end (found by
            // fuzzing), so every block must at least start inside the file.
            bool sized = places.TryGetValue(sizes, out var sizePlace) && IsInteger(sizePlace.Type);
            ulong blocks = sized ? Math.Min(offsetPlace.Count, sizePlace.Count) : offsetPlace.Count;
            checkedPairs.Add(offsetPlace.At);
            var starts = ReadIntegers(file, layout, offsetPlace.Type, offsetPlace.At, blocks);
            if (sized)
            {
                checkedPairs.Add(sizePlace.At);
            }
            var lengths = sized ? ReadIntegers(file, layout, sizePlace.Type, sizePlace.At, blocks) : new ulong[starts.Length];
            for (int block = 0; block < starts.Length; block++)
            {
                if ((UInt128)starts[block] + lengths[block] > (ulong)length)
                {
                    string claim = sized ? $"claims {lengths[block]} bytes at byte {starts[block]}" : $"starts at byte {starts[block]}";
                    throw Damaged(path, length,
                        $"{(offsets == 273 ? "strip" : "tile")} {block} of directory {index} {claim}, beyond the end of the file");
                }
            }
        }
        // And whichever other occurrence of a repeated offset or byte-count tag LibTiff.NET keeps, none may claim a
        // block start or size beyond the file (the occurrences checked in pairs above are not read again).
        foreach (var (tag, type, at, count) in blockTags.Where(occurrence => !checkedPairs.Contains(occurrence.At)))
        {
            foreach (ulong value in ReadIntegers(file, layout, type, at, count))
            {
                if (value > (ulong)length)
                {
                    throw Damaged(path, length, $"tag {tag} of directory {index} lists {value}, beyond the end of the file");
                }
            }
        }
    }

    // Of two values of a repeated size tag, the one that implies more blocks: the larger image side, the smaller
    // strip or tile side (which one LibTiff.NET keeps depends on the tag and the pass that reads it).
    private static ulong Worst(int tag, ulong first, ulong second) =>
        tag is 278 or 322 or 323 ? Math.Min(first, second) : Math.Max(first, second);

    private static bool IsInteger(int type) => type is 1 or 3 or 4 or 6 or 8 or 9 or 13 or 16 or 17 or 18;

    private static ulong Integer(Layout layout, int type, ReadOnlySpan<byte> bytes) => TypeSize(type) switch
    {
        1 => bytes[0],
        2 => (ulong)layout.U16(bytes),
        4 => layout.U32(bytes),
        _ => layout.U64(bytes),
    };

    private static ulong ReadInteger(SafeFileHandle file, Layout layout, int type, ulong at) =>
        ReadIntegers(file, layout, type, at, 1)[0];

    // The tag's values were checked to lie inside the file, which bounds this buffer.
    private static ulong[] ReadIntegers(SafeFileHandle file, Layout layout, int type, ulong at, ulong count)
    {
        int size = (int)TypeSize(type);
        var bytes = new byte[checked((int)count * size)];
        RandomAccess.Read(file, bytes, (long)at);
        var values = new ulong[count];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = Integer(layout, type, bytes.AsSpan(i * size, size));
        }
        return values;
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
        new($"{path}: the TIFF file is truncated or damaged ({length} bytes): {what}");

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
