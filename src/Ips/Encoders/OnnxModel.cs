using System.Buffers.Binary;
using System.Text;

namespace Ips.Encoders;

/// <summary>One node of an ONNX graph: operator, input and output value names, and its int/float attributes.</summary>
/// <param name="OpType">The operator, e.g. <c>Conv</c>.</param>
/// <param name="Inputs">Names of the values it reads.</param>
/// <param name="Outputs">Names of the values it writes.</param>
/// <param name="Ints">Integer and integer-list attributes by name (a single integer is a one-element list).</param>
/// <param name="Floats">Float attributes by name.</param>
internal sealed record OnnxNode(
    string OpType,
    IReadOnlyList<string> Inputs,
    IReadOnlyList<string> Outputs,
    IReadOnlyDictionary<string, long[]> Ints,
    IReadOnlyDictionary<string, float> Floats);

/// <summary>A float32 initializer (a stored weight) of an ONNX graph.</summary>
/// <param name="Dims">Its shape.</param>
/// <param name="Data">Its values in row-major order.</param>
internal sealed record OnnxTensor(long[] Dims, float[] Data);

/// <summary>
/// The parts of an ONNX <c>ModelProto</c> a weight conversion needs: the graph's nodes in order and its float32
/// initializers. A small reader of the protobuf wire format for the fields of onnx.proto it uses (ModelProto.graph 7;
/// GraphProto.node 1, initializer 5; NodeProto.input 1, output 2, op_type 4, attribute 5; AttributeProto.name 1,
/// f 2, i 3, ints 8; TensorProto.dims 1, data_type 2, float_data 4, name 8, raw_data 9, data_location 14), so the
/// library needs no ONNX runtime.
/// </summary>
internal sealed class OnnxModel
{
    private const int FloatType = 1;

    private OnnxModel(List<OnnxNode> nodes, Dictionary<string, OnnxTensor> initializers)
    {
        Nodes = nodes;
        Initializers = initializers;
    }

    /// <summary>The graph's nodes in their stored (topological) order.</summary>
    public IReadOnlyList<OnnxNode> Nodes { get; }

    /// <summary>The float32 initializers by name.</summary>
    public IReadOnlyDictionary<string, OnnxTensor> Initializers { get; }

    /// <summary>Reads the model at <paramref name="path"/>.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not an ONNX model this reader understands.</exception>
    public static OnnxModel Read(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"ONNX model not found: {path}", path);
        }
        var bytes = File.ReadAllBytes(path);
        try
        {
            ReadOnlyMemory<byte>? graph = null;
            foreach (var field in Fields(bytes))
            {
                if (field.Number == 7)
                {
                    graph = field.Bytes;
                }
            }
            if (graph is not { } g)
            {
                throw new InvalidDataException("no graph (ModelProto field 7)");
            }
            var nodes = new List<OnnxNode>();
            var initializers = new Dictionary<string, OnnxTensor>(StringComparer.Ordinal);
            foreach (var field in Fields(g))
            {
                if (field.Number == 1)
                {
                    nodes.Add(ReadNode(field.Bytes));
                }
                else if (field.Number == 5 && ReadTensor(field.Bytes) is var (name, tensor) && tensor is not null)
                {
                    initializers[name] = tensor;
                }
            }
            return new OnnxModel(nodes, initializers);
        }
        catch (Exception error) when (error is ArgumentOutOfRangeException or IndexOutOfRangeException or InvalidDataException or OverflowException)
        {
            throw new InvalidDataException($"{path}: not an ONNX model this reader understands ({error.Message}).", error);
        }
    }

    private static OnnxNode ReadNode(ReadOnlyMemory<byte> bytes)
    {
        var inputs = new List<string>();
        var outputs = new List<string>();
        var opType = "";
        var ints = new Dictionary<string, long[]>(StringComparer.Ordinal);
        var floats = new Dictionary<string, float>(StringComparer.Ordinal);
        foreach (var field in Fields(bytes))
        {
            switch (field.Number)
            {
                case 1: inputs.Add(Text(field.Bytes)); break;
                case 2: outputs.Add(Text(field.Bytes)); break;
                case 4: opType = Text(field.Bytes); break;
                case 5: ReadAttribute(field.Bytes, ints, floats); break;
            }
        }
        return new OnnxNode(opType, inputs, outputs, ints, floats);
    }

    private static void ReadAttribute(ReadOnlyMemory<byte> bytes, Dictionary<string, long[]> ints, Dictionary<string, float> floats)
    {
        var name = "";
        float? f = null;
        var values = new List<long>();
        foreach (var field in Fields(bytes))
        {
            switch (field.Number)
            {
                case 1: name = Text(field.Bytes); break;
                case 2: f = BitConverter.Int32BitsToSingle((int)field.Value); break;
                case 3: values.Add((long)field.Value); break;
                case 8: values.AddRange(field.WireType == 2 ? PackedVarints(field.Bytes) : [(long)field.Value]); break;
            }
        }
        if (f is { } value)
        {
            floats[name] = value;
        }
        if (values.Count > 0)
        {
            ints[name] = [.. values];
        }
    }

    private static (string Name, OnnxTensor? Tensor) ReadTensor(ReadOnlyMemory<byte> bytes)
    {
        var dims = new List<long>();
        var name = "";
        long dataType = 0;
        ReadOnlyMemory<byte>? raw = null;
        var floatData = new List<float>();
        foreach (var field in Fields(bytes))
        {
            switch (field.Number)
            {
                case 1: dims.AddRange(field.WireType == 2 ? PackedVarints(field.Bytes) : [(long)field.Value]); break;
                case 2: dataType = (long)field.Value; break;
                case 4:
                    if (field.WireType == 2)
                    {
                        floatData.AddRange(LittleEndianFloats(field.Bytes));
                    }
                    else
                    {
                        floatData.Add(BitConverter.Int32BitsToSingle((int)field.Value));
                    }
                    break;
                case 8: name = Text(field.Bytes); break;
                case 9: raw = field.Bytes; break;
                case 14 when field.Value != 0:
                    throw new InvalidDataException($"initializer {name}: external data is not supported");
            }
        }
        if (dataType != FloatType)
        {
            return (name, null);
        }
        float[] data;
        if (raw is { } r)
        {
            data = LittleEndianFloats(r);
        }
        else
        {
            data = [.. floatData];
        }
        var count = dims.Aggregate(1L, (a, b) => a * b);
        if (count != data.Length)
        {
            throw new InvalidDataException($"initializer {name}: shape [{string.Join(", ", dims)}] holds {count} values, found {data.Length}");
        }
        return (name, new OnnxTensor([.. dims], data));
    }

    private static float[] LittleEndianFloats(ReadOnlyMemory<byte> bytes)
    {
        var values = new float[bytes.Length / 4];
        var span = bytes.Span;
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = BinaryPrimitives.ReadSingleLittleEndian(span[(i * 4)..]);
        }
        return values;
    }

    private static string Text(ReadOnlyMemory<byte> bytes) => Encoding.UTF8.GetString(bytes.Span);

    private static List<long> PackedVarints(ReadOnlyMemory<byte> bytes)
    {
        var values = new List<long>();
        var position = 0;
        while (position < bytes.Length)
        {
            values.Add((long)Varint(bytes.Span, ref position));
        }
        return values;
    }

    private readonly record struct Field(int Number, int WireType, ulong Value, ReadOnlyMemory<byte> Bytes);

    /// <summary>The top-level fields of one protobuf message; length-delimited fields keep their bytes.</summary>
    private static IEnumerable<Field> Fields(ReadOnlyMemory<byte> message)
    {
        var position = 0;
        while (position < message.Length)
        {
            var key = Varint(message.Span, ref position);
            var number = (int)(key >> 3);
            var wireType = (int)(key & 7);
            switch (wireType)
            {
                case 0:
                    yield return new Field(number, wireType, Varint(message.Span, ref position), default);
                    break;
                case 1:
                    yield return new Field(number, wireType, BinaryPrimitives.ReadUInt64LittleEndian(message.Span[position..]), default);
                    position += 8;
                    break;
                case 2:
                    var length = checked((int)Varint(message.Span, ref position));
                    if (length < 0 || position + length > message.Length)
                    {
                        throw new InvalidDataException($"field {number} runs past the end of its message");
                    }
                    yield return new Field(number, wireType, 0, message.Slice(position, length));
                    position += length;
                    break;
                case 5:
                    yield return new Field(number, wireType, BinaryPrimitives.ReadUInt32LittleEndian(message.Span[position..]), default);
                    position += 4;
                    break;
                default:
                    throw new InvalidDataException($"field {number} has unsupported wire type {wireType}");
            }
        }
    }

    private static ulong Varint(ReadOnlySpan<byte> bytes, ref int position)
    {
        ulong result = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            var b = bytes[position++];
            result |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return result;
            }
        }
        throw new InvalidDataException("malformed varint");
    }
}
