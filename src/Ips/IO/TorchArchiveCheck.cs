using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace Ips.IO;

/// <summary>
/// Checks a <c>torch.save</c> zip archive before TorchSharp.PyBridge reads it, so that no size claimed by the file
/// is allocated unchecked (docs/reliability.md). PyBridge's pickle reader (Razorvine.Pickle) allocates the length a
/// string or bytes opcode claims before reading it, and PyBridge allocates each tensor storage from the element count
/// in the pickle and each tensor from its shape, without comparing either with the archive. This walks the pickle
/// <c>data.pkl</c> opcode by opcode, as Python's <c>pickletools</c> does, with a stack of plain values; nothing is
/// constructed or called. It refuses:
/// <list type="bullet">
/// <item>an opcode argument longer than the bytes left in the pickle;</item>
/// <item>a storage whose element count times element size exceeds its <c>data/KEY</c> entry, or an entry that claims
/// more than <see cref="MaxDeflateRatio"/> times its compressed size;</item>
/// <item>a tensor whose shape holds more elements than its storage;</item>
/// <item>a pickle larger than <see cref="MaxPickleBytes"/>, or one that is malformed (a stack or memo that does
/// not hold what an opcode takes).</item>
/// </list>
/// </summary>
internal static class TorchArchiveCheck
{
    /// <summary>
    /// The largest <c>data.pkl</c> read: 64 MiB. The pickle of a state_dict holds only names, shapes and storage keys
    /// (tensor data lives in separate entries): about 100 bytes per tensor, some 50 KB for a ViT-L.
    /// </summary>
    public const long MaxPickleBytes = 1L << 26;

    /// <summary>
    /// How much larger than its compressed size an entry may claim to be: deflate's largest ratio is about 1032 to 1
    /// (RFC 1951: a 258-byte match in at least two bits). <c>torch.save</c> stores entries uncompressed.
    /// </summary>
    public const long MaxDeflateRatio = 1032;

    private static readonly object Mark = new();
    private static readonly object Opaque = new();

    /// <summary>Checks the archive in <paramref name="stream"/> (left at its position) named <paramref name="path"/> in errors.</summary>
    /// <exception cref="InvalidDataException">The archive or its pickle claims more than it holds, or is malformed.</exception>
    public static void Check(Stream stream, string path)
    {
        var start = stream.Position;
        try
        {
            using var archive = Zip(path, () => new ZipArchive(stream, ZipArchiveMode.Read, leaveOpen: true));
            // The entry PyBridge reads: the first whose name ends in data.pkl.
            // The central directory is read on the first look at the entries.
            var pickle = Zip(path, () => archive.Entries).FirstOrDefault(entry => entry.Name.EndsWith("data.pkl", StringComparison.Ordinal))
                ?? throw new InvalidDataException($"{path}: not a PyTorch state_dict: the archive has no data.pkl");
            if (pickle.Length > MaxPickleBytes)
            {
                throw new InvalidDataException($"{path}: {pickle.FullName} claims {pickle.Length} bytes; a state_dict's pickle has at most {MaxPickleBytes}");
            }
            CheckClaimedLength(pickle, path);
            new Walker(path, archive, Zip(path, () => ReadEntry(pickle, path))).Run();
        }
        finally
        {
            stream.Position = start;
        }
    }

    // System.IO.Compression reports a damaged archive or entry without naming the file.
    private static T Zip<T>(string path, Func<T> read)
    {
        try
        {
            return read();
        }
        catch (InvalidDataException error)
        {
            throw new InvalidDataException($"{path}: not a readable PyTorch state_dict (torch.save zip format expected): {error.Message}", error);
        }
    }

    // At most MaxPickleBytes, whatever the entry turns out to hold beyond what it claimed.
    private static byte[] ReadEntry(ZipArchiveEntry entry, string path)
    {
        using var input = entry.Open();
        var bytes = new byte[entry.Length];
        var read = input.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false);
        if (read < bytes.Length || input.ReadByte() >= 0)
        {
            throw new InvalidDataException($"{path}: {entry.FullName} holds other than the {entry.Length} bytes its zip entry claims: the file is damaged");
        }
        return bytes;
    }

    private static void CheckClaimedLength(ZipArchiveEntry entry, string path)
    {
        if (entry.Length > MaxDeflateRatio * Math.Max(entry.CompressedLength, 1))
        {
            throw new InvalidDataException(
                $"{path}: {entry.FullName} claims {entry.Length} bytes from {entry.CompressedLength} compressed; no zip entry expands more than {MaxDeflateRatio} times");
        }
    }

    /// <summary>A storage a persistent id named: its entry's length and the size of one element.</summary>
    private sealed record Storage(long Bytes, int ElementSize);

    /// <summary>A global (<c>module.name</c>) pushed by GLOBAL or STACK_GLOBAL.</summary>
    private sealed record Global(string Name);

    private sealed class Walker(string path, ZipArchive archive, byte[] pickle)
    {
        private readonly List<object?> _stack = [];
        private readonly Dictionary<long, object?> _memo = [];
        private int _at;

        public void Run()
        {
            while (true)
            {
                var opcode = (char)Byte();
                switch (opcode)
                {
                    case '.': // STOP
                        return;
                    case '(': // MARK
                        _stack.Add(Mark);
                        break;
                    case '0': // POP
                        Pop();
                        break;
                    case '1': // POP_MARK
                        PopToMark();
                        break;
                    case '2': // DUP
                        _stack.Add(Peek());
                        break;
                    case 'F' or 'S' or 'V': // FLOAT, STRING, UNICODE (text, to the newline)
                        Line();
                        _stack.Add(Opaque);
                        break;
                    case 'P': // PERSID
                        throw Malformed("a text persistent id, which torch.save does not write");
                    case 'I' or 'L': // INT, LONG
                        _stack.Add(long.TryParse(Encoding.ASCII.GetString(Line()).TrimEnd('L'), out var number) ? number : Opaque);
                        break;
                    case 'J': // BININT
                        _stack.Add((long)BinaryPrimitives.ReadInt32LittleEndian(Bytes(4)));
                        break;
                    case 'K': // BININT1
                        _stack.Add((long)Byte());
                        break;
                    case 'M': // BININT2
                        _stack.Add((long)BinaryPrimitives.ReadUInt16LittleEndian(Bytes(2)));
                        break;
                    case '\x8a': // LONG1
                        Bytes(Byte());
                        _stack.Add(Opaque);
                        break;
                    case '\x8b': // LONG4
                        Bytes(Length(Bytes(4)));
                        _stack.Add(Opaque);
                        break;
                    case 'G': // BINFLOAT
                        Bytes(8);
                        _stack.Add(Opaque);
                        break;
                    case 'N' or '\x88' or '\x89': // NONE, NEWTRUE, NEWFALSE
                        _stack.Add(Opaque);
                        break;
                    case 'T' or 'B': // BINSTRING, BINBYTES
                        Bytes(Length(Bytes(4)));
                        _stack.Add(Opaque);
                        break;
                    case 'X': // BINUNICODE
                        _stack.Add(Encoding.UTF8.GetString(Bytes(Length(Bytes(4)))));
                        break;
                    case '\x8c': // SHORT_BINUNICODE
                        _stack.Add(Encoding.UTF8.GetString(Bytes(Byte())));
                        break;
                    case '\x8d': // BINUNICODE8
                        _stack.Add(Encoding.UTF8.GetString(Bytes(Length(Bytes(8)))));
                        break;
                    case 'U' or 'C': // SHORT_BINSTRING, SHORT_BINBYTES
                        Bytes(Byte());
                        _stack.Add(Opaque);
                        break;
                    case '\x8e' or '\x96': // BINBYTES8, BYTEARRAY8
                        Bytes(Length(Bytes(8)));
                        _stack.Add(Opaque);
                        break;
                    case '\x95': // FRAME: only a hint of the bytes that follow
                        Length(Bytes(8));
                        break;
                    case '\x80': // PROTO
                        Byte();
                        break;
                    case 'c': // GLOBAL
                        _stack.Add(new Global(Encoding.UTF8.GetString(Line()) + "." + Encoding.UTF8.GetString(Line())));
                        break;
                    case '\x93': // STACK_GLOBAL
                        var name = Pop();
                        _stack.Add(new Global($"{Pop()}.{name}"));
                        break;
                    case 'i': // INST
                        Line();
                        Line();
                        PopToMark();
                        _stack.Add(Opaque);
                        break;
                    case 'o' or 'l' or 'd' or '\x91': // OBJ, LIST, DICT, FROZENSET
                        PopToMark();
                        _stack.Add(Opaque);
                        break;
                    case 't': // TUPLE
                        _stack.Add(PopToMark());
                        break;
                    case ')': // EMPTY_TUPLE
                        _stack.Add(Array.Empty<object?>());
                        break;
                    case '\x85' or '\x86' or '\x87': // TUPLE1, TUPLE2, TUPLE3
                        _stack.Add(PopItems(opcode - '\x84'));
                        break;
                    case ']' or '}' or '\x8f': // EMPTY_LIST, EMPTY_DICT, EMPTY_SET
                        _stack.Add(Opaque);
                        break;
                    case 'a': // APPEND
                        Pop();
                        Peek();
                        break;
                    case 'e' or 'u' or '\x90': // APPENDS, SETITEMS, ADDITEMS
                        PopToMark();
                        Peek();
                        break;
                    case 's': // SETITEM
                        Pop();
                        Pop();
                        Peek();
                        break;
                    case 'b': // BUILD
                        Pop();
                        Peek();
                        break;
                    case 'R' or '\x81': // REDUCE, NEWOBJ
                        var arguments = Pop();
                        _stack.Add(Reduce(Pop(), arguments));
                        break;
                    case '\x92': // NEWOBJ_EX
                        Pop();
                        Pop();
                        Pop();
                        _stack.Add(Opaque);
                        break;
                    case 'Q': // BINPERSID
                        _stack.Add(LoadStorage(Pop()));
                        break;
                    case 'g': // GET
                        _stack.Add(Recall(long.TryParse(Encoding.ASCII.GetString(Line()), out var key) ? key : -1));
                        break;
                    case 'h': // BINGET
                        _stack.Add(Recall(Byte()));
                        break;
                    case 'j': // LONG_BINGET
                        _stack.Add(Recall(BinaryPrimitives.ReadInt32LittleEndian(Bytes(4))));
                        break;
                    case 'p': // PUT
                        _memo[long.TryParse(Encoding.ASCII.GetString(Line()), out var slot) ? slot : -1] = Peek();
                        break;
                    case 'q': // BINPUT
                        _memo[Byte()] = Peek();
                        break;
                    case 'r': // LONG_BINPUT
                        _memo[BinaryPrimitives.ReadInt32LittleEndian(Bytes(4))] = Peek();
                        break;
                    case '\x94': // MEMOIZE
                        _memo[_memo.Count] = Peek();
                        break;
                    default:
                        throw Malformed($"opcode 0x{(int)opcode:x2} at byte {_at - 1}, which a state_dict pickle does not use");
                }
            }
        }

        // torch.save's persistent id: ("storage", storage type, key, location, element count).
        private Storage LoadStorage(object? id)
        {
            if (id is not object?[] { Length: >= 5 } fields || fields[0] is not "storage" || fields[2] is not string key || fields[4] is not long count)
            {
                throw Malformed("a persistent id that is not torch.save's (\"storage\", type, key, location, count)");
            }
            var elementSize = fields[1] is Global storageType ? ElementSize(storageType.Name) : 0;
            // The entry PyBridge reads: the first whose full name ends in data/KEY.
            var entry = archive.Entries.FirstOrDefault(e => e.FullName.EndsWith($"data/{key}", StringComparison.Ordinal))
                ?? throw new InvalidDataException($"{path}: not a PyTorch state_dict: storage '{key}' has no data/{key} entry");
            CheckClaimedLength(entry, path);
            if (elementSize == 0 || count < 0 || SizeClaims.Product([(ulong)count, (ulong)elementSize]) > (ulong)entry.Length)
            {
                throw new InvalidDataException(
                    $"{path}: storage '{key}' claims {count} elements of {(fields[1] as Global)?.Name ?? "an unknown type"}, more than its {entry.Length}-byte entry holds");
            }
            return new Storage(entry.Length, elementSize);
        }

        // torch._utils._rebuild_tensor(_v2)(storage, offset, shape, stride, ...): PyBridge allocates the shape whole.
        private object Reduce(object? callable, object? arguments)
        {
            if (callable is Global { Name: "torch._utils._rebuild_tensor_v2" or "torch._utils._rebuild_tensor" } rebuild
                && arguments is object?[] { Length: >= 3 } fields && fields[0] is Storage storage)
            {
                if (fields[2] is not object?[] shape || !shape.All(side => side is long count && count >= 0))
                {
                    throw Malformed($"{rebuild.Name} without a shape of counts");
                }
                var elements = SizeClaims.Product(shape.Select(side => (ulong)(long)side!));
                if (elements > (ulong)storage.Bytes / (ulong)storage.ElementSize)
                {
                    throw new InvalidDataException(
                        $"{path}: a tensor claims shape [{string.Join(", ", shape)}], more than its {storage.Bytes}-byte storage holds");
                }
            }
            return Opaque;
        }

        // The storage types PyBridge reads, by their element size.
        private static int ElementSize(string storageType) => storageType switch
        {
            "torch.DoubleStorage" or "torch.LongStorage" or "torch.ComplexFloatStorage" => 8,
            "torch.FloatStorage" or "torch.IntStorage" => 4,
            "torch.HalfStorage" or "torch.ShortStorage" or "torch.BFloat16Storage" => 2,
            "torch.CharStorage" or "torch.ByteStorage" or "torch.BoolStorage" => 1,
            "torch.ComplexDoubleStorage" => 16,
            _ => 0,
        };

        private byte Byte() => Bytes(1)[0];

        private ReadOnlySpan<byte> Bytes(long count)
        {
            if (count > pickle.Length - _at)
            {
                throw new InvalidDataException(
                    $"{path}: the pickle claims {count} bytes at byte {_at} but has {pickle.Length - _at} left: the file is damaged");
            }
            var bytes = pickle.AsSpan(_at, (int)count);
            _at += (int)count;
            return bytes;
        }

        // A length argument: 4 bytes signed as Razorvine reads them, or 8; negative ones are damage too.
        private long Length(ReadOnlySpan<byte> bytes)
        {
            var length = bytes.Length == 4 ? BinaryPrimitives.ReadInt32LittleEndian(bytes) : BinaryPrimitives.ReadInt64LittleEndian(bytes);
            return length >= 0 ? length : throw Malformed($"a negative length {length} at byte {_at - bytes.Length}");
        }

        private ReadOnlySpan<byte> Line()
        {
            var end = pickle.AsSpan(_at).IndexOf((byte)'\n');
            if (end < 0)
            {
                throw Malformed($"a text argument at byte {_at} without its newline");
            }
            var line = pickle.AsSpan(_at, end);
            _at += end + 1;
            return line;
        }

        private object? Pop()
        {
            var top = Peek();
            _stack.RemoveAt(_stack.Count - 1);
            return top == Mark ? throw Malformed("an opcode that takes a value where a mark is") : top;
        }

        private object? Peek() => _stack.Count > 0 ? _stack[^1] : throw Malformed($"an opcode at byte {_at} that takes a value from an empty stack");

        private object?[] PopToMark()
        {
            var mark = _stack.LastIndexOf(Mark);
            if (mark < 0)
            {
                throw Malformed($"an opcode at byte {_at} that takes the values since a mark, without a mark");
            }
            var items = _stack.GetRange(mark + 1, _stack.Count - mark - 1).ToArray();
            _stack.RemoveRange(mark, _stack.Count - mark);
            return items;
        }

        private object?[] PopItems(int count)
        {
            var items = new object?[count];
            for (var i = count - 1; i >= 0; i--)
            {
                items[i] = Pop();
            }
            return items;
        }

        private object? Recall(long key) =>
            _memo.TryGetValue(key, out var value) ? value : throw Malformed($"a memo key {key} that was never stored");

        private InvalidDataException Malformed(string what) =>
            new($"{path}: not a readable PyTorch state_dict: its pickle has {what}");
    }
}
