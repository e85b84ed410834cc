using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using static TorchSharp.torch;

namespace Ips.Features;

/// <summary>Writes float32 matrices as NumPy <c>.npy</c> files (format 1.0, <c>&lt;f4</c>, C order) that
/// <see cref="NpyFeatureSource"/> and <c>numpy.load</c> read.</summary>
public static class NpyWriter
{
    /// <summary>Writes <paramref name="data"/>, row-major <paramref name="rows"/> x <paramref name="cols"/>.</summary>
    public static void Write(string path, float[] data, long rows, long cols)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (rows < 0 || cols < 0 || data.LongLength != rows * cols)
        {
            throw new ArgumentException($"{path}: {data.LongLength} values do not fill a {rows} x {cols} matrix", nameof(data));
        }

        using var stream = Create(path, rows, cols);
        stream.Write(MemoryMarshal.AsBytes(data.AsSpan()));
    }

    /// <summary>Writes a 2-D float32 tensor <c>[rows, cols]</c> from any device.</summary>
    public static void Write(string path, Tensor matrix)
    {
        ArgumentNullException.ThrowIfNull(matrix);
        if (matrix.dim() != 2 || matrix.dtype != ScalarType.Float32)
        {
            throw new ArgumentException(
                $"{path}: expected a 2-D float32 tensor, got {matrix.dtype} [{string.Join(", ", matrix.shape)}]", nameof(matrix));
        }

        using var host = matrix.to(CPU);
        using var contiguous = host.contiguous();
        using var stream = Create(path, matrix.shape[0], matrix.shape[1]);
        stream.Write(contiguous.bytes);
    }

    private static FileStream Create(string path, long rows, long cols)
    {
        // The header dict is padded with spaces and ends with '\n' so that the data starts 64-byte aligned.
        string dict = string.Create(CultureInfo.InvariantCulture,
            $"{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
        int unpadded = 10 + dict.Length + 1;
        int padding = (64 - unpadded % 64) % 64;
        string header = dict + new string(' ', padding) + "\n";

        var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        Span<byte> preamble = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0, 0, 0];
        BinaryPrimitives.WriteUInt16LittleEndian(preamble[8..], (ushort)header.Length);
        stream.Write(preamble);
        stream.Write(Encoding.Latin1.GetBytes(header));
        return stream;
    }
}
