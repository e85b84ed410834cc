using System.Buffers.Binary;
using System.Numerics;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Ips.IO;

/// <summary>
/// Walks the metadata of an HDF5 file the way PureHDF will decode it, before PureHDF sees the file, and checks every
/// size and count a structure claims against the bytes that hold it: PureHDF allocates what a link name, an attribute
/// value, a fill value, a local or global heap or a chunk claims before reading it, and follows continuation blocks,
/// shared messages and B-tree levels by recursion, so a damaged file could make it allocate gigabytes or overflow the
/// stack (found by fuzzing; docs/reliability.md, "Limits before allocation"). The walk reads only metadata: the
/// superblock, every object header reachable from the root group through hard links (with their continuation blocks
/// and every message in them), the group B-trees, symbol-table nodes and local heaps, the global heap collections
/// of variable-length attribute values, and the chunk indexes of chunked datasets (B-tree version 1, single chunk,
/// implicit, fixed array, extensible array). Structures ips does not read are refused rather than trusted
/// unchecked: dense link or attribute storage (fractal heaps), the version-2 B-tree chunk index, paged data blocks
/// of an extensible array, and data kept in external files; h5py's default format and the files PureHDF writes use
/// none of them.
/// </summary>
internal sealed partial class Hdf5Structure
{
    /// <summary>The most objects (object headers, B-tree and symbol-table nodes, heaps) one file may hold: 2^20, far
    /// beyond a split file of a few thousand slides; bounds the walk's time on a file of repeated structures.</summary>
    public const int MaxObjects = 1 << 20;

    /// <summary>The largest metadata block read at once (an object header chunk, a B-tree node, a global heap
    /// collection): 64 MiB. HDF5 writes header chunks of at most 4 GiB in theory, kilobytes in practice.</summary>
    public const long MaxBlockBytes = 1L << 26;

    /// <summary>The deepest nesting of datatypes (an array of compounds of variable-length sequences...) and of
    /// shared messages: PureHDF decodes both by recursion, and thousands of levels fit in one 64 KiB message.</summary>
    public const int MaxNesting = 32;

    /// <summary>The most continuation blocks of one object header; PureHDF follows them by recursion.</summary>
    public const int MaxContinuations = 1024;

    private static readonly byte[] Signature = [0x89, (byte)'H', (byte)'D', (byte)'F', 0x0D, 0x0A, 0x1A, 0x0A];

    private readonly SafeFileHandle _file;
    private readonly long _length;
    private int _offsetSize;
    private int _lengthSize;
    private ulong _base;
    private int _objects;
    private readonly HashSet<ulong> _headers = [];
    private readonly HashSet<ulong> _headersInProgress = [];
    private readonly HashSet<ulong> _nodes = [];
    private readonly Queue<ulong> _pendingHeaders = new();
    private readonly Queue<(ulong Group, ulong Tree, ulong Heap)> _pendingTables = new();
    private readonly HashSet<ulong> _walkedTrees = [];
    private readonly Links _links = new();
    private readonly Dictionary<ulong, Datatype> _committedTypes = [];
    private readonly Dictionary<ulong, UInt128> _sharedSpaces = [];

    private Hdf5Structure(SafeFileHandle file)
    {
        _file = file;
        _length = RandomAccess.GetLength(file);
    }

    /// <summary>Checks the HDF5 file at <paramref name="path"/>.</summary>
    /// <exception cref="InvalidDataException">The file is not HDF5, is truncated, is damaged (the message names the
    /// structure and what it claims), or uses a structure ips does not read.</exception>
    public static void Check(string path)
    {
        using var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        try
        {
            new Hdf5Structure(file).Walk();
        }
        catch (Damage damage)
        {
            throw new InvalidDataException($"{path}: {damage.Message}");
        }
    }

    private void Walk()
    {
        ulong root = Superblock();
        Enqueue(root);
        // Object headers and group symbol tables are queued, not walked by recursion: a file may nest groups deeply.
        while (true)
        {
            if (_pendingHeaders.TryDequeue(out var header))
            {
                ObjectHeader(header, nesting: 0);
            }
            else if (_pendingTables.TryDequeue(out var table))
            {
                SymbolTable(table.Group, table.Tree, table.Heap);
            }
            else
            {
                break;
            }
        }
        _links.CheckSoftLinks(root);
    }

    // ---- superblock (HDF5 file format specification, section II.A) ----

    /// <summary>Finds the superblock where PureHDF looks for it (byte 0, then 512, 1536, 3584...: its search
    /// doubles the step) and returns the root group's object header address.</summary>
    private ulong Superblock()
    {
        long step = 512;
        for (long at = 0; at + Signature.Length <= _length; at += step, step *= 2)
        {
            var head = new byte[Math.Min(128, _length - at)];
            RandomAccess.Read(_file, head, at);
            if (head.AsSpan(0, Signature.Length).SequenceEqual(Signature))
            {
                return SuperblockAt(new Cursor(head, Signature.Length, "the superblock"));
            }
        }
        throw new Damage($"not an HDF5 file (no HDF5 signature found{(_length == 0 ? "; the file is empty" : "")})");
    }

    private ulong SuperblockAt(Cursor head)
    {
        int version = head.U8();
        if (version > 3)
        {
            throw new Damage($"HDF5 superblock version {version} is not supported (0 to 3 are)");
        }
        ulong rootHeader;
        ulong endOfFile;
        ulong? extension = null;
        if (version < 2)
        {
            head.Skip(4);
            SetSizes(head.U8(), head.U8());
            head.Skip(1 + 2 + 2 + 4 + (version == 1 ? 4 : 0));
            _base = head.Offset(_offsetSize);
            head.Offset(_offsetSize);
            endOfFile = head.Offset(_offsetSize);
            head.Offset(_offsetSize);
            head.Offset(_offsetSize);
            rootHeader = head.Offset(_offsetSize);
            // The root's symbol-table entry may cache its B-tree and local heap, which PureHDF then uses for lookups.
            if (head.U32() == 1)
            {
                head.Skip(4);
                _pendingTables.Enqueue((rootHeader, head.Offset(_offsetSize), head.Offset(_offsetSize)));
            }
        }
        else
        {
            SetSizes(head.U8(), head.U8());
            head.Skip(1);
            _base = head.Offset(_offsetSize);
            extension = head.Offset(_offsetSize);
            endOfFile = head.Offset(_offsetSize);
            rootHeader = head.Offset(_offsetSize);
        }
        // The end-of-file address counts from the start of the file, user block included (h5py with a 512-byte user
        // block writes the file's whole length), though other addresses count from the base address.
        if (!IsUndefined(endOfFile) && endOfFile > (ulong)_length)
        {
            throw new Damage($"HDF5 file is truncated: its superblock says it ends at byte {endOfFile}, the file has {_length} bytes");
        }
        if (extension is { } header)
        {
            Enqueue(header);
        }
        return rootHeader;
    }

    private void SetSizes(int offsetSize, int lengthSize)
    {
        if (offsetSize is not (2 or 4 or 8) || lengthSize is not (2 or 4 or 8))
        {
            throw new Damage($"the file is damaged: its superblock gives {offsetSize}-byte addresses and {lengthSize}-byte lengths (2, 4 or 8 bytes are valid)");
        }
        _offsetSize = offsetSize;
        _lengthSize = lengthSize;
    }

    // ---- object headers (section IV.A) ----

    private void Enqueue(ulong header)
    {
        if (!IsUndefined(header) && !_headers.Contains(header))
        {
            _pendingHeaders.Enqueue(header);
        }
    }

    /// <summary>Checks the object header at <paramref name="address"/> and every message in it; hard links found in
    /// it are queued, shared messages are followed at once (PureHDF decodes them inside the header that holds
    /// them, by recursion, so a loop among them must be refused, not skipped).</summary>
    private void ObjectHeader(ulong address, int nesting)
    {
        if (_headersInProgress.Contains(address))
        {
            throw new Damage($"the file is damaged: the object header at byte {address} refers to itself through shared messages");
        }
        if (!_headers.Add(address))
        {
            return;
        }
        if (nesting > MaxNesting)
        {
            throw new Damage($"the file is damaged: shared messages refer onwards more than {MaxNesting} times from the object header at byte {address}");
        }
        Count();
        _headersInProgress.Add(address);
        var start = Read(address, (ulong)Math.Min(34, Math.Max(0, _length - Absolute(address, 0, "an object header"))), "an object header");
        var prefix = new Cursor(start, 0, $"the object header at byte {address}");
        var header = new Header(address, nesting);
        var blocks = new Queue<(ulong At, ulong Size)>();
        if (start.Length > 0 && start[0] == 1)
        {
            prefix.Skip(2 + 2 + 4);
            ulong size = prefix.U32();
            header.Version = 1;
            if (size > 0)
            {
                Messages(header, Read(address + 16, size, "an object header"), blocks);
            }
        }
        else
        {
            if (!prefix.Take(4).SequenceEqual("OHDR"u8) || prefix.U8() != 2)
            {
                throw new Damage($"the file is damaged: no object header at byte {address} (neither version 1 nor an OHDR signature)");
            }
            int flags = prefix.U8();
            prefix.Skip(((flags & 0x20) != 0 ? 16 : 0) + ((flags & 0x10) != 0 ? 4 : 0));
            ulong size = prefix.Unsigned(1 << (flags & 0x03));
            header.Version = 2;
            header.CreationOrder = (flags & 0x04) != 0;
            Messages(header, Read(address + (ulong)prefix.Position, size, "an object header"), blocks);
        }
        var seen = new HashSet<ulong>();
        while (blocks.TryDequeue(out var block))
        {
            if (!seen.Add(block.At) || seen.Count > MaxContinuations)
            {
                throw new Damage($"the file is damaged: the continuation blocks of the object header at byte {address} {(seen.Count > MaxContinuations ? $"number more than {MaxContinuations}" : "form a loop")}");
            }
            var bytes = Read(block.At, block.Size, "an object header continuation block");
            if (header.Version == 2)
            {
                if (bytes.Length < 8 || !bytes.AsSpan(0, 4).SequenceEqual("OCHK"u8))
                {
                    throw new Damage($"the file is damaged: the continuation block at byte {block.At} of the object header at byte {address} has no OCHK signature");
                }
                bytes = bytes[4..^4];
            }
            Messages(header, bytes, blocks);
        }
        header.CheckChunkIndex(this);
        _headersInProgress.Remove(address);
    }

    private void Messages(Header header, byte[] block, Queue<(ulong At, ulong Size)> continuations)
    {
        int prefixSize = header.Version == 1 ? 8 : header.CreationOrder ? 6 : 4;
        int gap = header.Version == 1 ? 0 : prefixSize;
        var cursor = new Cursor(block, 0, $"the object header at byte {header.Address}");
        while (cursor.Remaining > gap)
        {
            int type = header.Version == 1 ? cursor.U16() : cursor.U8();
            int size = cursor.U16();
            int flags = cursor.U8();
            cursor.Skip(prefixSize - (header.Version == 1 ? 5 : 4));
            if (size > cursor.Remaining)
            {
                throw new Damage($"the file is damaged: message {type} of the object header at byte {header.Address} claims {size} bytes, {cursor.Remaining} are left in its block");
            }
            var data = new Cursor(cursor.Take(size), $"message {type} of the object header at byte {header.Address}");
            if (type == 0x10)
            {
                continuations.Enqueue((data.Offset(_offsetSize), data.Unsigned(_lengthSize)));
            }
            else
            {
                Message(header, type, (flags & 0x02) != 0, data);
            }
        }
    }

    // Message types whose decoder in PureHDF honours the "shared" flag (Message.Decode in PureHDF).
    private static bool Shareable(int type) => type is 0x01 or 0x03 or 0x04 or 0x05 or 0x0B or 0x0C;

    private void Message(Header header, int type, bool shared, Cursor data)
    {
        if (shared && Shareable(type))
        {
            ulong target = SharedTarget(ref data);
            if (!IsUndefined(target))
            {
                ObjectHeader(target, header.Nesting + 1);
                if (type == 0x03)
                {
                    header.Type = _committedTypes.GetValueOrDefault(target);
                }
            }
            header.Filtered |= type == 0x0B;
            return;
        }
        switch (type)
        {
            case 0x01:
                _sharedSpaces.TryAdd(header.Address, Dataspace(ref data));
                break;
            case 0x02:
                RefuseDenseStorage(ref data, 8, "a group", "links");
                break;
            case 0x03:
                header.Type = DatatypeAt(ref data, 0);
                _committedTypes.TryAdd(header.Address, header.Type);
                break;
            case 0x04:
                data.Bytes(data.U32(), "an old-style fill value");
                break;
            case 0x05:
                FillValue(ref data);
                break;
            case 0x06:
                Link(header, ref data);
                break;
            case 0x07:
                throw new Damage($"the object at byte {header.Address} keeps its data in external files (an HDF5 external file list); ips reads only data stored in the file itself");
            case 0x08:
                header.Layout = LayoutMessage(ref data);
                break;
            case 0x0B:
                FilterPipeline(ref data);
                header.Filtered = true;
                break;
            case 0x0C:
                Attribute(header, ref data);
                break;
            case 0x0D:
                data.NulTerminated("an object comment");
                break;
            case 0x11:
                _pendingTables.Enqueue((header.Address, data.Offset(_offsetSize), data.Offset(_offsetSize)));
                break;
            case 0x15:
                RefuseDenseStorage(ref data, 2, "an object", "attributes");
                break;
        }
    }

    private ulong SharedTarget(ref Cursor data)
    {
        int version = data.U8();
        int location = data.U8();
        if (version == 1)
        {
            data.Skip(6);
        }
        else if (version == 3 && location == 1)
        {
            throw new Damage("a message shared through the file's shared-message heap is not supported (PureHDF does not read it)");
        }
        else if (version is not (2 or 3))
        {
            throw new Damage($"the file is damaged: a shared message of version {version} (1 to 3 are valid)");
        }
        return data.Offset(_offsetSize);
    }

    // ---- messages (section IV.A.2) ----

    /// <summary>The number of elements a dataspace holds (0 for a null dataspace, 1 for a scalar).</summary>
    private UInt128 Dataspace(ref Cursor data)
    {
        int version = data.U8();
        int rank = data.U8();
        int flags = data.U8();
        int type = 1;
        if (version == 1)
        {
            type = rank > 0 ? 1 : 0;
            data.Skip(5);
        }
        else
        {
            type = data.U8();
        }
        var dims = new ulong[rank];
        for (int i = 0; i < rank; i++)
        {
            dims[i] = data.Unsigned(_lengthSize);
        }
        data.Skip(((flags & 1) != 0 ? rank * _lengthSize : 0) + ((flags & 2) != 0 ? rank * _lengthSize : 0));
        return type switch
        {
            0 => 1,
            2 => 0,
            _ => SizeClaims.Product(dims),
        };
    }

    /// <summary>A datatype's size in bytes, whether it is variable-length (its values live in a global heap), and
    /// whether a variable-length type sits inside it (a compound member, an array's element, a sequence's element),
    /// whose heap references the walk does not follow.</summary>
    private sealed record Datatype(uint Size, bool VariableLength, bool NestsVariableLength = false)
    {
        public bool HoldsVariableLength => VariableLength || NestsVariableLength;
    }

    private Datatype DatatypeAt(ref Cursor data, int nesting)
    {
        if (nesting > MaxNesting)
        {
            throw new Damage($"the file is damaged: a datatype nests more than {MaxNesting} levels deep");
        }
        int classAndVersion = data.U8();
        int version = classAndVersion >> 4;
        int @class = classAndVersion & 0x0F;
        int bits = data.U8() | data.U8() << 8 | data.U8() << 16;
        uint size = data.U32();
        switch (@class)
        {
            case 0 or 4:
                data.Skip(4);
                break;
            case 1:
                data.Skip(12);
                break;
            case 2:
                data.Skip(2);
                break;
            case 5:
                data.Bytes((uint)(bits & 0xFF), "an opaque datatype's tag");
                break;
            case 6:
                bool nests = false;
                for (int member = 0; member < (bits & 0xFFFF); member++)
                {
                    data.NulTerminated("a compound member's name", pad: version < 3);
                    if (version < 3)
                    {
                        data.Skip(4 + (version == 1 ? 28 : 0));
                    }
                    else
                    {
                        data.Skip(Math.Max(1, (64 - BitOperations.LeadingZeroCount((ulong)size) + 7) / 8));
                    }
                    nests |= DatatypeAt(ref data, nesting + 1).HoldsVariableLength;
                }
                return new Datatype(size, VariableLength: false, nests);
            case 8:
                DatatypeAt(ref data, nesting + 1);
                int members = bits & 0xFFFF;
                for (int member = 0; member < members; member++)
                {
                    data.NulTerminated("an enumeration member's name", pad: version < 3);
                }
                data.Bytes((UInt128)members * size, "an enumeration's values");
                break;
            case 9:
                return new Datatype(size, VariableLength: true, DatatypeAt(ref data, nesting + 1).HoldsVariableLength);
            case 10:
                int rank = data.U8();
                data.Skip((version == 2 ? 3 : 0) + rank * 4 + (version == 2 ? rank * 4 : 0));
                return new Datatype(size, VariableLength: false, DatatypeAt(ref data, nesting + 1).HoldsVariableLength);
            case 3 or 7:
                break;
            default:
                throw new Damage($"the file is damaged: datatype class {@class} (0 to 10 are valid)");
        }
        return new Datatype(size, VariableLength: false);
    }

    private static void FillValue(ref Cursor data)
    {
        int version = data.U8();
        bool defined;
        if (version is 1 or 2)
        {
            data.Skip(2);
            defined = data.U8() == 1;
        }
        else
        {
            int flags = data.U8();
            defined = (flags & 0x10) == 0 && (flags & 0x20) != 0;
        }
        if (defined)
        {
            data.Bytes(data.U32(), "a fill value");
        }
    }

    private void Link(Header header, ref Cursor data)
    {
        data.U8();
        int flags = data.U8();
        int type = (flags & 0x08) != 0 ? data.U8() : 0;
        data.Skip(((flags & 0x04) != 0 ? 8 : 0) + ((flags & 0x10) != 0 ? 1 : 0));
        string name = Encoding.UTF8.GetString(data.Bytes(data.Unsigned(1 << (flags & 0x03)), "a link name"));
        switch (type)
        {
            case 0:
                ulong target = data.Offset(_offsetSize);
                Enqueue(target);
                _links.Add(header.Address, name, target, null);
                break;
            case 1:
                _links.Add(header.Address, name, null, Encoding.UTF8.GetString(data.Bytes(data.U16(), "a link's value")));
                break;
            case 64:
                throw new Damage($"link '{name}' of the group at byte {header.Address} leads to another file (an external link); ips reads one file and follows no link out of it");
            case > 64:
                data.Bytes(data.U16(), "a link's value");
                break;
        }
    }

    /// <summary>A link info or attribute info message: version, flags, the largest creation index when flag 0 is
    /// set (<paramref name="indexBytes"/> long), then the fractal heap of dense storage, undefined while the links or
    /// attributes sit in the object header.</summary>
    private void RefuseDenseStorage(ref Cursor data, int indexBytes, string holder, string kept)
    {
        data.U8();
        int flags = data.U8();
        data.Skip((flags & 1) != 0 ? indexBytes : 0);
        if (!IsUndefined(data.Offset(_offsetSize)))
        {
            throw new Damage($"{holder} keeps its {kept} in dense storage (a fractal heap: HDF5's 'latest' format with many {kept}); ips reads {kept} stored in the object header{(kept == "links" ? " or a symbol table" : "")}; rewrite the file with h5py's default format, or with h5repack");
        }
    }

    private void FilterPipeline(ref Cursor data)
    {
        int version = data.U8();
        int filters = data.U8();
        data.Skip(version == 1 ? 6 : 0);
        for (int filter = 0; filter < filters; filter++)
        {
            int id = data.U16();
            int nameLength = version == 1 || id >= 256 ? data.U16() : 0;
            data.Skip(2);
            int values = data.U16();
            if (nameLength > 0 && version == 1)
            {
                data.NulTerminated("a filter's name", pad: true);
            }
            else
            {
                data.Bytes((uint)nameLength, "a filter's name");
            }
            data.Bytes((ulong)values * 4 + (version == 1 && values % 2 == 1 ? 4UL : 0UL), "a filter's parameters");
        }
    }

    /// <summary>Checks an attribute message field by field in PureHDF's order (AttributeMessage.Decode: it reads the
    /// name up to its NUL and the datatype and dataspace as far as they go, whatever the size fields say, then
    /// allocates elements x datatype size for the value).</summary>
    private void Attribute(Header header, ref Cursor data)
    {
        int version = data.U8();
        int flags = version == 1 ? 0 : data.U8();
        data.Skip(version == 1 ? 1 : 0);
        data.Skip(2);
        int typeSize = data.U16();
        int spaceSize = data.U16();
        data.Skip(version == 3 ? 1 : 0);
        data.NulTerminated("an attribute's name", pad: version == 1);
        Datatype? type;
        if ((flags & 1) != 0)
        {
            ulong target = SharedTarget(ref data);
            ObjectHeader(target, header.Nesting + 1);
            type = _committedTypes.GetValueOrDefault(target);
        }
        else
        {
            type = DatatypeAt(ref data, 0);
        }
        data.Skip(version == 1 ? (typeSize + 7) / 8 * 8 - typeSize : 0);
        UInt128 count;
        if ((flags & 2) != 0)
        {
            ulong target = SharedTarget(ref data);
            ObjectHeader(target, header.Nesting + 1);
            count = _sharedSpaces.GetValueOrDefault(target);
        }
        else
        {
            count = Dataspace(ref data);
        }
        data.Skip(version == 1 ? (spaceSize + 7) / 8 * 8 - spaceSize : 0);
        if (type is null)
        {
            throw new Damage($"the file is damaged: an attribute of the object at byte {header.Address} refers to a datatype that is not there");
        }
        if (type.NestsVariableLength)
        {
            throw new Damage($"an attribute of the object at byte {header.Address} holds variable-length values inside a compound, an array or another variable-length type; ips reads variable-length strings and sequences only as an attribute's values themselves");
        }
        var values = new Cursor(data.Bytes(count * type.Size, "an attribute's value"), "an attribute's value");
        if (type.VariableLength)
        {
            // Each value is a sequence length, then the global heap collection and the index that hold it.
            for (UInt128 i = 0; i < count; i++)
            {
                values.Skip(4);
                ulong collection = values.Offset(_offsetSize);
                values.Skip((int)type.Size - 4 - _offsetSize);
                GlobalHeap(collection);
            }
        }
    }

    /// <summary>The chunk index a layout message describes; null for compact and contiguous data.</summary>
    private Layout? LayoutMessage(ref Cursor data)
    {
        int version = data.U8();
        if (version is 1 or 2)
        {
            int rank = data.U8();
            int layoutClass = data.U8();
            data.Skip(5);
            ulong? address = layoutClass == 0 ? null : data.Offset(_offsetSize);
            var dims = new ulong[rank];
            for (int i = 0; i < rank; i++)
            {
                dims[i] = data.U32();
            }
            if (layoutClass == 0)
            {
                data.Bytes(data.U32(), "a compact dataset's data");
            }
            return layoutClass == 2 && address is { } tree ? new Layout(ChunkIndex.BTree1, tree, dims, 0) : null;
        }
        int @class = data.U8();
        switch (@class)
        {
            case 0:
                data.Bytes(data.U16(), "a compact dataset's data");
                return null;
            case 1:
                data.Offset(_offsetSize);
                data.Unsigned(_lengthSize);
                return null;
            case 2 when version == 3:
            {
                int rank = data.U8();
                ulong address = data.Offset(_offsetSize);
                var dims = new ulong[rank];
                for (int i = 0; i < rank; i++)
                {
                    dims[i] = data.U32();
                }
                return new Layout(ChunkIndex.BTree1, address, dims, 0);
            }
            case 2 when version == 4:
            {
                int flags = data.U8();
                int rank = data.U8();
                int encoded = data.U8();
                if (encoded is < 1 or > 8)
                {
                    throw new Damage($"the file is damaged: a chunked layout encodes its chunk sides in {encoded} bytes (1 to 8 are valid)");
                }
                var dims = new ulong[rank];
                for (int i = 0; i < rank; i++)
                {
                    dims[i] = data.Unsigned(encoded);
                }
                int index = data.U8();
                ulong filteredSize = 0;
                switch (index)
                {
                    case 1:
                        if ((flags & 0x02) != 0)
                        {
                            filteredSize = data.Unsigned(_lengthSize);
                            data.Skip(4);
                        }
                        break;
                    case 2:
                        break;
                    case 3:
                        data.Skip(1);
                        break;
                    case 4:
                        data.Skip(5);
                        break;
                    case 5:
                        throw new Damage("a chunked dataset is indexed by a version-2 B-tree (HDF5's 'latest' format for datasets that can grow in more than one dimension); ips reads the B-tree (h5py's default), single-chunk, implicit, fixed-array and extensible-array indexes; rewrite the file with h5py's default format, or with h5repack");
                    default:
                        throw new Damage($"the file is damaged: chunk index type {index} (1 to 5 are valid)");
                }
                ulong address = data.Offset(_offsetSize);
                return new Layout((ChunkIndex)index, address, dims, filteredSize);
            }
            case 3 when version == 4:
                throw new Damage("a dataset is virtual (its data lives in other files); ips reads only data stored in the file itself");
            default:
                throw new Damage($"the file is damaged: data layout class {@class} in a layout message of version {version}");
        }
    }

    // ---- groups stored as symbol tables: B-tree version 1, symbol-table nodes, local heaps (section III.A-D) ----

    /// <summary>Walks a group's symbol table once (several groups may name the same one: a group's own symbol table
    /// message, and the copy of its B-tree and heap addresses that its entry in its parent may cache), recording
    /// the links it holds for <paramref name="group"/>.</summary>
    private void SymbolTable(ulong group, ulong tree, ulong heap)
    {
        if (IsUndefined(tree))
        {
            return;
        }
        _links.UseTree(group, tree);
        if (_walkedTrees.Add(tree))
        {
            GroupTree(tree, tree, LocalHeap(heap), level: -1);
        }
    }

    /// <summary>Checks a local heap's header and returns its data segment (link names and soft link values are
    /// NUL-terminated strings at offsets into it); PureHDF reads the whole segment into one array.</summary>
    private byte[] LocalHeap(ulong address)
    {
        var cursor = new Cursor(Read(address, 8 + 2 * (ulong)_lengthSize + (ulong)_offsetSize, "a local heap"), 0, $"the local heap at byte {address}");
        Signed(ref cursor, "HEAP"u8, address, "a local heap");
        cursor.Skip(4);
        ulong size = cursor.Unsigned(_lengthSize);
        cursor.Unsigned(_lengthSize);
        ulong data = cursor.Offset(_offsetSize);
        if (_nodes.Add(address))
        {
            Count();
        }
        return Read(data, size, "the data segment of a local heap");
    }

    /// <summary>Walks a group's B-tree (node type 0) down to its symbol-table nodes. <paramref name="level"/> is
    /// the level the parent expects (-1 at the root).</summary>
    private void GroupTree(ulong tree, ulong address, byte[] heap, int level)
    {
        var (nodeLevel, _, children) = TreeNode(address, level, type: 0, keySize: _lengthSize);
        for (int i = 0; i < children.Length; i++)
        {
            if (nodeLevel > 0)
            {
                GroupTree(tree, children[i], heap, nodeLevel - 1);
            }
            else
            {
                SymbolTableNode(tree, children[i], heap);
            }
        }
    }

    /// <summary>Reads a symbol-table node's entries: each names a link by an offset into the heap and is a hard
    /// link to an object header (which may cache its own group's B-tree and heap) or, with cache type 2, a soft link
    /// whose value is another offset into the heap.</summary>
    private void SymbolTableNode(ulong tree, ulong address, byte[] heap)
    {
        if (!_nodes.Add(address))
        {
            return;
        }
        Count();
        var head = new Cursor(Read(address, 8, "a symbol table node"), 0, $"the symbol table node at byte {address}");
        Signed(ref head, "SNOD"u8, address, "a symbol table node");
        head.Skip(2);
        int symbols = head.U16();
        int entrySize = 2 * _offsetSize + 24;
        var entries = new Cursor(Read(address + 8, (ulong)symbols * (ulong)entrySize, "a symbol table node"), 0, $"the symbol table node at byte {address}");
        for (int i = 0; i < symbols; i++)
        {
            string name = HeapString(heap, entries.Offset(_offsetSize), address);
            ulong header = entries.Offset(_offsetSize);
            uint cache = entries.U32();
            entries.Skip(4);
            var scratch = new Cursor(entries.Take(16), $"an entry of the symbol table node at byte {address}");
            if (cache == 2)
            {
                _links.Add(tree, name, null, HeapString(heap, scratch.U32(), address));
                continue;
            }
            Enqueue(header);
            _links.Add(tree, name, header, null);
            if (cache == 1)
            {
                _pendingTables.Enqueue((header, scratch.Offset(_offsetSize), scratch.Offset(_offsetSize)));
            }
        }
    }

    private static string HeapString(byte[] heap, ulong offset, ulong node)
    {
        int end = offset < (ulong)heap.Length ? Array.IndexOf(heap, (byte)0, (int)offset) : -1;
        if (end < 0)
        {
            throw new Damage($"the file is damaged: the symbol table node at byte {node} names a string at offset {offset} of a local heap of {heap.Length} bytes, with no end inside it");
        }
        return Encoding.UTF8.GetString(heap, (int)offset, end - (int)offset);
    }

    /// <summary>Reads a B-tree version 1 node and checks that it lies in the file and sits at the level its parent
    /// expects (PureHDF descends by the level each node states, so a node pointing back up would loop).</summary>
    private (int Level, byte[] Keys, ulong[] Children) TreeNode(ulong address, int expectedLevel, int type, int keySize)
    {
        if (!_nodes.Add(address))
        {
            throw new Damage($"the file is damaged: the B-tree node at byte {address} is reached twice (the tree loops)");
        }
        Count();
        var head = new Cursor(Read(address, 8 + 2 * (ulong)_offsetSize, "a B-tree node"), 0, $"the B-tree node at byte {address}");
        Signed(ref head, "TREE"u8, address, "a B-tree node");
        int nodeType = head.U8();
        int level = head.U8();
        int entries = head.U16();
        if (nodeType != type || (expectedLevel >= 0 && level != expectedLevel))
        {
            throw new Damage($"the file is damaged: the B-tree node at byte {address} has type {nodeType} and level {level}, where type {type}{(expectedLevel >= 0 ? $" and level {expectedLevel}" : "")} belongs");
        }
        ulong bodySize = (ulong)entries * (ulong)(keySize + _offsetSize) + (ulong)keySize;
        var body = new Cursor(Read(address + 8 + 2 * (ulong)_offsetSize, bodySize, "a B-tree node"), 0, $"the B-tree node at byte {address}");
        var keys = new byte[(entries + 1) * keySize];
        var children = new ulong[entries];
        for (int i = 0; i < entries; i++)
        {
            body.Take(keySize).CopyTo(keys.AsSpan(i * keySize));
            children[i] = body.Offset(_offsetSize);
        }
        body.Take(keySize).CopyTo(keys.AsSpan(entries * keySize));
        return (level, keys, children);
    }

    // ---- global heap (section III.E): variable-length attribute values ----

    private void GlobalHeap(ulong address)
    {
        if (address == 0 || IsUndefined(address) || !_nodes.Add(address))
        {
            return;
        }
        Count();
        var head = new Cursor(Read(address, 8 + (ulong)_lengthSize, "a global heap collection"), 0, $"the global heap collection at byte {address}");
        Signed(ref head, "GCOL"u8, address, "a global heap collection");
        head.Skip(4);
        ulong size = head.Unsigned(_lengthSize);
        ulong headerSize = 8 + (ulong)_lengthSize;
        if (size < headerSize)
        {
            throw new Damage($"the file is damaged: the global heap collection at byte {address} claims {size} bytes");
        }
        var objects = new Cursor(Read(address + headerSize, size - headerSize, "a global heap collection"), 0, $"the global heap collection at byte {address}");
        // PureHDF reads objects while more than a header's worth of bytes is left; each allocates its claimed size.
        while ((ulong)objects.Remaining > headerSize)
        {
            if (objects.U16() == 0)
            {
                break;
            }
            objects.Skip(6);
            ulong objectSize = objects.Unsigned(_lengthSize);
            objects.Bytes((objectSize + 7) / 8 * 8, "a global heap object");
        }
    }

    // ---- chunk indexes (section IV.A.2.i) ----

    private enum ChunkIndex
    {
        SingleChunk = 1,
        Implicit = 2,
        FixedArray = 3,
        ExtensibleArray = 4,
        BTree1 = 100,
    }

    /// <summary>What a layout message says about a dataset's chunk index: the index, its address, the chunk's sides
    /// (for B-tree version 1, the dataset's rank plus one: the last side is the element size) and, for a single
    /// filtered chunk, its stored size.</summary>
    private sealed record Layout(ChunkIndex Index, ulong Address, ulong[] Dims, ulong FilteredSize);

    /// <summary>Walks a chunk B-tree (node type 1), whose keys hold a chunk's stored size, filter mask and one
    /// 8-byte offset per side of <paramref name="sides"/> (the dataset's rank plus one).</summary>
    private void ChunkTree(ulong address, int sides, int level)
    {
        int keySize = 8 + 8 * sides;
        var (nodeLevel, keys, children) = TreeNode(address, level, type: 1, keySize: keySize);
        for (int i = 0; i < children.Length; i++)
        {
            if (nodeLevel > 0)
            {
                ChunkTree(children[i], sides, nodeLevel - 1);
            }
            else
            {
                // The key before a chunk gives its stored size; PureHDF allocates a buffer of that size to read it.
                uint stored = BinaryPrimitives.ReadUInt32LittleEndian(keys.AsSpan(i * keySize));
                Absolute(children[i], stored, "a chunk");
            }
        }
    }

    private void FixedArray(ulong address)
    {
        Count();
        var head = new Cursor(Read(address, 8 + (ulong)_lengthSize + (ulong)_offsetSize + 4, "a fixed array index"), 0, $"the fixed array index at byte {address}");
        Signed(ref head, "FAHD"u8, address, "a fixed array index");
        head.Skip(1);
        int client = head.U8();
        int entrySize = head.U8();
        int pageBits = head.U8();
        ulong entries = head.Unsigned(_lengthSize);
        ulong dataBlock = head.Offset(_offsetSize);
        // Every entry is stored (in the data block or its pages): the count is bounded by the file's length.
        if ((UInt128)entries * (ulong)entrySize > (ulong)_length || pageBits >= 64)
        {
            throw new Damage($"the file is damaged: the fixed array index at byte {address} claims {entries} entries of {entrySize} bytes in a file of {_length} bytes");
        }
        int sizeBytes = entrySize - _offsetSize - 4;
        if (client != 1 || entries == 0)
        {
            return;
        }
        if (sizeBytes is < 1 or > 8)
        {
            throw new Damage($"the file is damaged: the fixed array index at byte {address} has filtered entries of {entrySize} bytes");
        }
        ulong perPage = 1UL << pageBits;
        ulong pages = entries > perPage ? (entries + perPage - 1) / perPage : 0;
        ulong prefix = 6 + (ulong)_offsetSize;
        ulong bitmap = (pages + 7) / 8;
        var elements = new List<(ulong At, ulong Count)>();
        if (pages == 0)
        {
            elements.Add((dataBlock + prefix, entries));
        }
        else
        {
            ulong at = dataBlock + prefix + bitmap + 4;
            for (ulong page = 0; page < pages; page++)
            {
                ulong count = Math.Min(perPage, entries - page * perPage);
                elements.Add((at, count));
                at += count * (ulong)entrySize + 4;
            }
        }
        foreach (var (at, count) in elements)
        {
            var cursor = new Cursor(Read(at, count * (ulong)entrySize, "a fixed array's entries"), 0, $"the fixed array data at byte {at}");
            for (ulong i = 0; i < count; i++)
            {
                ulong chunk = cursor.Offset(_offsetSize);
                ulong stored = cursor.Unsigned(sizeBytes);
                cursor.Skip(4);
                if (!IsUndefined(chunk))
                {
                    Absolute(chunk, stored, "a chunk");
                }
            }
        }
    }

    /// <summary>The messages of one object header that matter once all are read: its layout, datatype and whether
    /// it has a filter pipeline (which gives chunk index entries a stored size).</summary>
    private sealed class Header(ulong address, int nesting)
    {
        public ulong Address { get; } = address;
        public int Nesting { get; } = nesting;
        public int Version { get; set; }
        public bool CreationOrder { get; set; }
        public Layout? Layout { get; set; }
        public Datatype? Type { get; set; }
        public bool Filtered { get; set; }

        public void CheckChunkIndex(Hdf5Structure file)
        {
            if (Layout is null || file.IsUndefined(Layout.Address))
            {
                return;
            }
            switch (Layout.Index)
            {
                case ChunkIndex.BTree1:
                    file.ChunkTree(Layout.Address, Layout.Dims.Length, level: -1);
                    break;
                case ChunkIndex.SingleChunk when Layout.FilteredSize > 0:
                    file.Absolute(Layout.Address, Layout.FilteredSize, "a chunk");
                    break;
                case ChunkIndex.FixedArray:
                    file.FixedArray(Layout.Address);
                    break;
                case ChunkIndex.ExtensibleArray:
                    file.ExtensibleArray(Layout.Address, EntrySize(file, Layout));
                    break;
            }
        }

        /// <summary>The bytes of one entry of an extensible array as PureHDF decodes it: a chunk's address, then for
        /// filtered data the chunk's stored size and filter mask. The size field's width follows the chunk's size in
        /// bytes (its sides times the datatype's size), computed as PureHDF computes it (MathUtils.ComputeChunkSizeLength).</summary>
        private int EntrySize(Hdf5Structure file, Layout layout)
        {
            if (!Filtered)
            {
                return file._offsetSize;
            }
            if (Type is null || layout.Dims.Length == 0)
            {
                throw new Damage($"the file is damaged: the dataset at byte {Address} has a chunk index but {(Type is null ? "no datatype" : "chunks of no dimensions")}");
            }
            ulong chunkBytes = 1;
            foreach (ulong side in layout.Dims[..^1])
            {
                chunkBytes *= side;
            }
            chunkBytes *= Type.Size;
            return file._offsetSize + (int)Math.Min(8, 1 + ((uint)Math.Log(chunkBytes, 2) + 8) / 8) + 4;
        }
    }

    // ---- reading ----

    private void Count()
    {
        if (++_objects > MaxObjects)
        {
            throw new Damage($"the file holds more than {MaxObjects} objects, B-tree nodes and heaps; ips reads files of at most that many");
        }
    }

    private bool IsUndefined(ulong address) =>
        _offsetSize == 8 ? address == ulong.MaxValue : address == (1UL << (8 * _offsetSize)) - 1;

    /// <summary>The position in the file of <paramref name="size"/> bytes at HDF5 address <paramref name="address"/>,
    /// refused unless they lie inside the file.</summary>
    private long Absolute(ulong address, ulong size, string what)
    {
        UInt128 end = (UInt128)_base + address + size;
        if (IsUndefined(address) || end > (ulong)_length)
        {
            throw new Damage($"the file is damaged: {what} at byte {address} claims {size} bytes, beyond the file's {_length} bytes");
        }
        return (long)(_base + address);
    }

    private byte[] Read(ulong address, ulong size, string what)
    {
        long at = Absolute(address, size, what);
        if (size > MaxBlockBytes)
        {
            throw new Damage($"{what} at byte {address} claims {size} bytes; ips reads metadata blocks of at most {MaxBlockBytes} bytes");
        }
        var bytes = new byte[size];
        RandomAccess.Read(_file, bytes, at);
        return bytes;
    }

    private static void Signed(ref Cursor cursor, ReadOnlySpan<byte> signature, ulong address, string what)
    {
        if (!cursor.Take(signature.Length).SequenceEqual(signature))
        {
            throw new Damage($"the file is damaged: no {what} at byte {address} (its signature {System.Text.Encoding.ASCII.GetString(signature)} is missing)");
        }
    }

    /// <summary>Reads little-endian fields from a block, refusing any field or claimed length that runs past it.</summary>
    private ref struct Cursor(ReadOnlySpan<byte> bytes, int position, string where)
    {
        private readonly ReadOnlySpan<byte> _bytes = bytes;
        private readonly string _where = where;

        public Cursor(ReadOnlySpan<byte> bytes, string where)
            : this(bytes, 0, where)
        {
        }

        public int Position { get; private set; } = position;

        public readonly int Remaining => _bytes.Length - Position;

        public ReadOnlySpan<byte> Take(int count)
        {
            if (count < 0 || count > Remaining)
            {
                throw new Damage($"the file is damaged: {_where} ends {count - Remaining} bytes early");
            }
            var taken = _bytes.Slice(Position, count);
            Position += count;
            return taken;
        }

        /// <summary>Takes a length the file claims, which must fit in what is left of the block.</summary>
        public ReadOnlySpan<byte> Bytes(UInt128 count, string what)
        {
            if (count > (ulong)Remaining)
            {
                throw new Damage($"the file is damaged: {what} in {_where} claims {count} bytes, {Remaining} are left");
            }
            return Take((int)count);
        }

        public void Skip(int count) => Take(count);

        public byte U8() => Take(1)[0];

        public ushort U16() => BinaryPrimitives.ReadUInt16LittleEndian(Take(2));

        public uint U32() => BinaryPrimitives.ReadUInt32LittleEndian(Take(4));

        public ulong Unsigned(int size)
        {
            var field = Take(size);
            ulong value = 0;
            for (int i = size - 1; i >= 0; i--)
            {
                value = value << 8 | field[i];
            }
            return value;
        }

        public ulong Offset(int size) => Unsigned(size);

        /// <summary>Skips a NUL-terminated string (padded to a multiple of 8 bytes, NUL included, when
        /// <paramref name="pad"/>) that must end inside the block.</summary>
        public void NulTerminated(string what, bool pad = false)
        {
            int end = _bytes[Position..].IndexOf((byte)0);
            if (end < 0)
            {
                throw new Damage($"the file is damaged: {what} in {_where} has no end");
            }
            Skip(pad ? Math.Min(Remaining, (end + 1 + 7) / 8 * 8) : end + 1);
        }
    }

    /// <summary>A refusal, turned into an <see cref="InvalidDataException"/> naming the file by <see cref="Check"/>.</summary>
    private sealed class Damage(string message) : Exception(message);
}
