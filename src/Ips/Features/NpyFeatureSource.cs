using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Win32.SafeHandles;

namespace Ips.Features;

/// <summary>
/// Pre-extracted features <c>[N, n_chan_in]</c> in a NumPy <c>.npy</c> file (format 1.0, 2.0 or 3.0, dtype
/// <c>&lt;f4</c>, C order), read from disk on demand.
/// </summary>
public sealed partial class NpyFeatureSource : DiskFeatureSource
{
    private static readonly byte[] Magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    private NpyFeatureSource(string path, SafeFileHandle file, long dataOffset, long rows, long cols)
        : base(path, file, dataOffset, rows, cols)
    {
    }

    /// <summary>Opens <paramref name="path"/> after checking its header; throws <see cref="InvalidDataException"/>
    /// naming the file when it is not a 2-D little-endian float32 C-order array or is shorter than its header says.</summary>
    public static NpyFeatureSource Open(string path)
    {
        var file = OpenFile(path);
        try
        {
            var (dataOffset, rows, cols) = ReadHeader(file, path);
            return new NpyFeatureSource(path, file, dataOffset, rows, cols);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    private static (long DataOffset, long Rows, long Cols) ReadHeader(SafeFileHandle file, string path)
    {
        Span<byte> preamble = stackalloc byte[12];
        ReadExactly(file, path, preamble[..10], 0, "NumPy header");
        if (!preamble[..6].SequenceEqual(Magic))
        {
            throw new InvalidDataException($"{path}: not a NumPy .npy file (the magic string \\x93NUMPY is missing)");
        }

        byte major = preamble[6];
        long headerStart;
        long headerLength;
        switch (major)
        {
            case 1:
                headerLength = BinaryPrimitives.ReadUInt16LittleEndian(preamble[8..10]);
                headerStart = 10;
                break;
            case 2:
            case 3:
                ReadExactly(file, path, preamble[10..12], 10, "NumPy header");
                headerLength = BinaryPrimitives.ReadUInt32LittleEndian(preamble[8..12]);
                headerStart = 12;
                break;
            default:
                throw new InvalidDataException($"{path}: NumPy format version {major}.{preamble[7]} is not supported (1.0, 2.0, 3.0 are)");
        }

        if (headerLength > 1 << 20)
        {
            throw new InvalidDataException($"{path}: NumPy header of {headerLength} bytes is implausibly long");
        }

        var headerBytes = new byte[headerLength];
        ReadExactly(file, path, headerBytes, headerStart, "NumPy header");
        string header = (major == 3 ? Encoding.UTF8 : Encoding.Latin1).GetString(headerBytes);

        string descr = Field(DescrPattern(), header, "descr", path);
        if (descr is not ("<f4" or "=f4"))
        {
            throw new InvalidDataException($"{path}: dtype '{descr}' is not supported; features must be little-endian float32 ('<f4')");
        }

        if (Field(FortranPattern(), header, "fortran_order", path) != "False")
        {
            throw new InvalidDataException($"{path}: fortran_order is True; features must be stored in C (row-major) order");
        }

        string shapeText = Field(ShapePattern(), header, "shape", path);
        // Each dimension is checked: the shape pattern stops only at the closing parenthesis, so a damaged header can
        // hold anything between the commas (found by fuzzing, docs/reliability.md).
        long[] shape = shapeText.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(dim => long.TryParse(dim.TrimEnd('L'), NumberStyles.None, CultureInfo.InvariantCulture, out var size) ? size
                : throw new InvalidDataException($"{path}: the NumPy header's shape ({shapeText}) holds '{dim}', which is not a dimension size; the file is damaged"))
            .ToArray();
        if (shape.Length != 2)
        {
            throw new InvalidDataException(
                $"{path}: array of shape ({shapeText}) has rank {shape.Length}; features must be a 2-D matrix [N, n_chan_in]");
        }

        return (headerStart + headerLength, shape[0], shape[1]);
    }

    private static string Field(Regex pattern, string header, string key, string path)
    {
        var match = pattern.Match(header);
        if (!match.Success)
        {
            throw new InvalidDataException($"{path}: NumPy header {header.Trim()} has no readable '{key}' entry");
        }

        return match.Groups[1].Value;
    }

    [GeneratedRegex(@"['""]descr['""]\s*:\s*['""]([^'""]*)['""]")]
    private static partial Regex DescrPattern();

    [GeneratedRegex(@"['""]fortran_order['""]\s*:\s*(True|False)")]
    private static partial Regex FortranPattern();

    [GeneratedRegex(@"['""]shape['""]\s*:\s*\(([^)]*)\)")]
    private static partial Regex ShapePattern();
}
