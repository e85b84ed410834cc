using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Microsoft.Win32.SafeHandles;

namespace Ips.Features;

/// <summary>
/// Pre-extracted features <c>[N, n_chan_in]</c> in a <c>.safetensors</c> file holding exactly one 2-D <c>F32</c>
/// tensor, read from disk on demand. The layout is an 8-byte little-endian header length, a JSON header, then the
/// raw little-endian data; the header's <c>data_offsets</c> are relative to the end of the header.
/// </summary>
public sealed class SafetensorsFeatureSource : DiskFeatureSource
{
    private SafetensorsFeatureSource(string path, SafeFileHandle file, long dataOffset, long rows, long cols, string name)
        : base(path, file, dataOffset, rows, cols)
    {
        TensorName = name;
    }

    /// <summary>Name of the tensor in the file's header.</summary>
    public string TensorName { get; }

    /// <summary>Opens <paramref name="path"/> after checking its header; throws <see cref="InvalidDataException"/>
    /// naming the file when it holds other than one 2-D F32 tensor or is shorter than its header says.</summary>
    public static SafetensorsFeatureSource Open(string path)
    {
        var file = OpenFile(path);
        try
        {
            var (dataOffset, rows, cols, name) = ReadHeader(file, path);
            return new SafetensorsFeatureSource(path, file, dataOffset, rows, cols, name);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    private static (long DataOffset, long Rows, long Cols, string Name) ReadHeader(SafeFileHandle file, string path)
    {
        Span<byte> lengthBytes = stackalloc byte[8];
        ReadExactly(file, path, lengthBytes, 0, "8-byte header length");
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
        long fileLength = RandomAccess.GetLength(file);
        if (headerLength > (ulong)Math.Max(0, fileLength - 8) || headerLength > 100_000_000)
        {
            throw new InvalidDataException(
                $"{path}: file is truncated or not safetensors: header length {headerLength} does not fit the {fileLength}-byte file");
        }

        var headerBytes = new byte[headerLength];
        ReadExactly(file, path, headerBytes, 8, "JSON header");
        using var header = ParseJson(headerBytes, path);

        var tensors = header.RootElement.EnumerateObject().Where(entry => entry.Name != "__metadata__").ToList();
        if (tensors.Count != 1)
        {
            throw new InvalidDataException(
                $"{path}: expected exactly one feature tensor, found {tensors.Count} ({string.Join(", ", tensors.Select(t => t.Name))})");
        }

        var tensor = tensors[0];
        string name = tensor.Name;
        try
        {
            string dtype = tensor.Value.GetProperty("dtype").GetString() ?? "";
            if (dtype != "F32")
            {
                throw new InvalidDataException($"{path}: tensor '{name}' has dtype {dtype}; features must be F32 (float32)");
            }

            long[] shape = tensor.Value.GetProperty("shape").EnumerateArray().Select(dim => dim.GetInt64()).ToArray();
            if (shape.Length != 2)
            {
                throw new InvalidDataException(
                    $"{path}: tensor '{name}' has shape [{string.Join(", ", shape)}] of rank {shape.Length}; " +
                    "features must be a 2-D matrix [N, n_chan_in]");
            }

            long[] offsets = tensor.Value.GetProperty("data_offsets").EnumerateArray().Select(o => o.GetInt64()).ToArray();
            long expectedBytes = shape[0] * shape[1] * sizeof(float);
            if (offsets.Length != 2 || offsets[0] < 0 || offsets[1] - offsets[0] != expectedBytes)
            {
                throw new InvalidDataException(
                    $"{path}: tensor '{name}' data_offsets [{string.Join(", ", offsets)}] do not span the {expectedBytes} bytes " +
                    $"of a [{shape[0]}, {shape[1]}] F32 tensor");
            }

            return (8 + (long)headerLength + offsets[0], shape[0], shape[1], name);
        }
        catch (Exception error) when (error is KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException(
                $"{path}: tensor '{name}' header entry {tensor.Value.GetRawText()} lacks a valid dtype, shape or data_offsets", error);
        }
    }

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private static JsonDocument ParseJson(byte[] headerBytes, string path)
    {
        try
        {
            // JsonDocument checks the structure but not the bytes inside strings; invalid UTF-8 there would surface
            // later, as an InvalidOperationException from the first name or value read.
            StrictUtf8.GetCharCount(headerBytes);
            var document = JsonDocument.Parse(headerBytes);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                document.Dispose();
                throw new InvalidDataException($"{path}: safetensors header is not a JSON object");
            }

            return document;
        }
        catch (Exception error) when (error is JsonException or DecoderFallbackException)
        {
            throw new InvalidDataException($"{path}: safetensors header is not valid JSON (UTF-8): {error.Message}", error);
        }
    }
}
