using System.Numerics;

namespace Ips.IO;

internal sealed partial class Hdf5Structure
{
    private readonly HashSet<(ulong Address, ulong Entries)> _arrayDataBlocks = [];
    private readonly HashSet<(ulong Address, int Index)> _arraySuperBlocks = [];

    /// <summary>The most super blocks an extensible array may have: 60. HDF5 writes 29 (2^32 entries, data blocks
    /// of at least 16); PureHDF sizes super block i with 32-bit shifts by i / 2 and (i + 1) / 2, which overflow
    /// beyond 61.</summary>
    public const int MaxSuperBlocks = 60;

    /// <summary>
    /// Walks the extensible array that indexes the chunks of a dataset with one unlimited dimension (h5py's
    /// <c>libver="latest"</c> with <c>maxshape=(None, ...)</c>; HDF5 file format specification, section VII.B):
    /// its header, its index block (the first entries, then the addresses of the first data blocks and of the super
    /// blocks that list the rest), every data block and super block. Sizes follow PureHDF's reader (the
    /// ExtensibleArray* types of PureHDF 2.2.0), which allocates each block's entries from the header's parameters
    /// before reading them; every block must lie in the file, and the stored size of every filtered chunk too.
    /// </summary>
    private void ExtensibleArray(ulong address, int entrySize)
    {
        Count();
        var head = new Cursor(Read(address, 12 + 6 * (ulong)_lengthSize + (ulong)_offsetSize + 4, "an extensible array index"), 0, $"the extensible array index at byte {address}");
        Signed(ref head, "EAHD"u8, address, "an extensible array index");
        int version = head.U8();
        head.Skip(1);
        int storedEntrySize = head.U8();
        int maxBits = head.U8();
        int indexEntries = head.U8();
        int minEntries = head.U8();
        int minPointers = head.U8();
        int pageBits = head.U8();
        head.Skip(6 * _lengthSize);
        ulong indexBlock = head.Offset(_offsetSize);
        string where = $"the extensible array index at byte {address}";
        if (version != 0)
        {
            throw new Damage($"the file is damaged: {where} has version {version} (0 is valid)");
        }
        if (storedEntrySize != entrySize)
        {
            throw new Damage($"the file is damaged: {where} has entries of {storedEntrySize} bytes where its dataset's chunks take {entrySize}");
        }
        if (!BitOperations.IsPow2(minEntries) || !BitOperations.IsPow2(minPointers) || indexEntries == 0 || maxBits is 0 or > 64 || pageBits > Math.Min(maxBits, 63))
        {
            throw new Damage($"the file is damaged: {where} has invalid parameters ({maxBits} bits of entries, {indexEntries} in its index block, data blocks of at least {minEntries}, {minPointers} data block addresses per super block, pages of 2^{pageBits})");
        }
        // Pages of 2^64 entries (allowed by 64-bit entry counts) would make 1UL << pageBits one entry: refused above.
        // The same expressions as PureHDF's (ExtensibleArrayHeader.Decode, ExtensibleArrayIndexBlock.Decode).
        ulong superBlocks = 1UL + (ulong)maxBits - (uint)Math.Log(minEntries, 2);
        ulong direct = 2 * (ulong)Math.Log(minPointers, 2);
        if (maxBits < (uint)Math.Log(minEntries, 2) || superBlocks > MaxSuperBlocks || direct > superBlocks)
        {
            throw new Damage($"the file is damaged: {where} claims {superBlocks} super blocks of which {direct} are held by its index block (at most {MaxSuperBlocks}, all held by the index block or listed in it)");
        }
        if (IsUndefined(indexBlock))
        {
            return;
        }
        var array = new ArrayShape(entrySize, (maxBits + 7) / 8, 1UL << pageBits, minEntries, (int)superBlocks);
        ulong dataBlockPointers = (ulong)(2 * (minPointers - 1));
        ulong superBlockPointers = superBlocks - direct;
        Count();
        var block = new Cursor(Read(indexBlock, 6 + (ulong)_offsetSize + (ulong)indexEntries * (ulong)entrySize + (dataBlockPointers + superBlockPointers) * (ulong)_offsetSize + 4, "an extensible array index block"), 0, $"the extensible array index block at byte {indexBlock}");
        Signed(ref block, "EAIB"u8, indexBlock, "an extensible array index block");
        block.Skip(2 + _offsetSize);
        for (int i = 0; i < indexEntries; i++)
        {
            Entry(ref block, entrySize);
        }
        int superBlock = 0;
        for (ulong pointer = 0; pointer < dataBlockPointers; pointer++)
        {
            // The index block lists the data blocks of the first `direct` super blocks, in order.
            while (pointer >= array.FirstDataBlock[superBlock] + array.DataBlocks[superBlock])
            {
                if (++superBlock == (int)direct)
                {
                    throw new Damage($"the file is damaged: {where} lists {dataBlockPointers} data blocks in its index block, more than its first {direct} super blocks hold");
                }
            }
            ulong dataBlock = block.Offset(_offsetSize);
            if (!IsUndefined(dataBlock))
            {
                DataBlock(array, dataBlock, array.Entries[superBlock]);
            }
        }
        for (ulong pointer = 0; pointer < superBlockPointers; pointer++)
        {
            ulong at = block.Offset(_offsetSize);
            if (!IsUndefined(at))
            {
                SuperBlock(array, at, (int)(direct + pointer));
            }
        }
    }

    /// <summary>A super block: the addresses of its data blocks, each holding the same number of entries.</summary>
    private void SuperBlock(ArrayShape array, ulong address, int index)
    {
        if (!_arraySuperBlocks.Add((address, index)))
        {
            return;
        }
        Count();
        ulong entries = array.Entries[index];
        if (entries > array.PageEntries)
        {
            throw new Damage($"the extensible array super block at byte {address} keeps its data blocks in pages of {array.PageEntries} entries (a dataset of more than about 130,000 chunks in HDF5's 'latest' format); ips does not read paged data blocks; rewrite the file with h5py's default format, or with h5repack");
        }
        ulong dataBlocks = array.DataBlocks[index];
        var block = new Cursor(Read(address, 6 + (ulong)_offsetSize + (ulong)array.OffsetBytes + dataBlocks * (ulong)_offsetSize + 4, "an extensible array super block"), 0, $"the extensible array super block at byte {address}");
        Signed(ref block, "EASB"u8, address, "an extensible array super block");
        block.Skip(2 + _offsetSize + array.OffsetBytes);
        for (ulong i = 0; i < dataBlocks; i++)
        {
            ulong dataBlock = block.Offset(_offsetSize);
            if (!IsUndefined(dataBlock))
            {
                DataBlock(array, dataBlock, entries);
            }
        }
    }

    /// <summary>A data block of <paramref name="entries"/> entries. PureHDF keeps a block by its address, but a
    /// damaged file may reach one address as blocks of different sizes: each size is checked once.</summary>
    private void DataBlock(ArrayShape array, ulong address, ulong entries)
    {
        if (!_arrayDataBlocks.Add((address, entries)))
        {
            return;
        }
        Count();
        if (entries > array.PageEntries)
        {
            throw new Damage($"the extensible array data block at byte {address} holds {entries} entries in pages of {array.PageEntries}; ips does not read paged data blocks; rewrite the file with h5py's default format, or with h5repack");
        }
        var block = new Cursor(Read(address, 6 + (ulong)_offsetSize + (ulong)array.OffsetBytes + entries * (ulong)array.EntrySize + 4, "an extensible array data block"), 0, $"the extensible array data block at byte {address}");
        Signed(ref block, "EADB"u8, address, "an extensible array data block");
        block.Skip(2 + _offsetSize + array.OffsetBytes);
        for (ulong i = 0; i < entries; i++)
        {
            Entry(ref block, array.EntrySize);
        }
    }

    /// <summary>One entry: a chunk's address and, when the dataset is filtered, its stored size (which PureHDF
    /// allocates to read the chunk) and filter mask.</summary>
    private void Entry(ref Cursor block, int entrySize)
    {
        ulong chunk = block.Offset(_offsetSize);
        if (entrySize == _offsetSize)
        {
            return;
        }
        uint stored = (uint)block.Unsigned(entrySize - _offsetSize - 4);
        block.Skip(4);
        if (!IsUndefined(chunk))
        {
            Absolute(chunk, stored, "a chunk");
        }
    }

    /// <summary>An extensible array's layout as PureHDF derives it from the header (H5EA__hdr_init in HDF5): super
    /// block i has 2^(i/2) data blocks of 2^((i+1)/2) x the minimum entries each; the index block lists the data
    /// blocks of the first super blocks, then the addresses of the other super blocks.</summary>
    private sealed class ArrayShape
    {
        public ArrayShape(int entrySize, int offsetBytes, ulong pageEntries, int minEntries, int superBlocks)
        {
            EntrySize = entrySize;
            OffsetBytes = offsetBytes;
            PageEntries = pageEntries;
            Entries = new ulong[superBlocks];
            DataBlocks = new ulong[superBlocks];
            FirstDataBlock = new ulong[superBlocks];
            ulong first = 0;
            for (int i = 0; i < superBlocks; i++)
            {
                DataBlocks[i] = 1UL << (i / 2);
                Entries[i] = (1UL << ((i + 1) / 2)) * (ulong)minEntries;
                FirstDataBlock[i] = first;
                first += DataBlocks[i];
            }
        }

        public int EntrySize { get; }

        /// <summary>The width of a block's offset field: the entry bits rounded up to bytes.</summary>
        public int OffsetBytes { get; }

        public ulong PageEntries { get; }

        public ulong[] Entries { get; }

        public ulong[] DataBlocks { get; }

        public ulong[] FirstDataBlock { get; }
    }
}
