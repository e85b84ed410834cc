using System.Text;
using Ips.Features;
using static TorchSharp.torch;

namespace Ips.Tests.Features;

public sealed class NpyFeatureSourceTests : IDisposable
{
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    private static float[] Matrix(int rows, int cols) =>
        [.. Enumerable.Range(0, rows * cols).Select(i => (i / cols) + (i % cols) / 100f)];

    [Fact]
    public void Written_features_read_back_by_range_and_by_index()
    {
        string path = _files.File("features.npy");
        float[] data = Matrix(37, 5);
        NpyWriter.Write(path, data, 37, 5);

        using var source = NpyFeatureSource.Open(path);
        Assert.Equal(37, source.Count);
        Assert.Equal(new long[] { 5 }, source.PatchShape);
        Assert.Equal(TorchSharp.DeviceType.CPU, source.Device.type);

        using var all = source.Read(0, 37);
        Assert.Equal(new long[] { 37, 5 }, all.shape);
        Assert.Equal(data, all.data<float>().ToArray());

        using var middle = source.Read(10, 3);
        Assert.Equal(data[50..65], middle.data<float>().ToArray());

        long[] order = [36, 2, 3, 4, 0, 0, 17];
        using var gathered = source.Gather(order);
        Assert.Equal(order.SelectMany(r => data[(int)(r * 5)..(int)(r * 5 + 5)]).ToArray(), gathered.data<float>().ToArray());
    }

    [Fact]
    public void A_nan_or_infinity_is_refused_naming_the_file_row_and_column_whichever_way_the_row_is_read()
    {
        string path = _files.File("bad.npy");
        float[] data = Matrix(9, 4);
        data[6 * 4 + 1] = float.NaN;
        data[8 * 4 + 3] = float.NegativeInfinity;
        NpyWriter.Write(path, data, 9, 4);

        using var source = NpyFeatureSource.Open(path);
        using (var clean = source.Read(0, 6))
        {
            Assert.Equal(data[..24], clean.data<float>().ToArray());
        }
        var range = Assert.Throws<InvalidDataException>(() => source.Read(4, 3));
        Assert.Equal($"{path}: row 6 holds NaN (column 1); features must be finite numbers", range.Message);
        var gathered = Assert.Throws<InvalidDataException>(() => source.Gather([0, 8]));
        Assert.Equal($"{path}: row 8 holds -Infinity (column 3); features must be finite numbers", gathered.Message);
    }

    [Fact]
    public void A_tensor_written_from_torch_reads_back()
    {
        string path = _files.File("tensor.npy");
        using var matrix = randn(6, 3);
        NpyWriter.Write(path, matrix);

        using var source = NpyFeatureSource.Open(path);
        using var back = source.Read(0, 6);
        Assert.Equal(matrix.data<float>().ToArray(), back.data<float>().ToArray());
    }

    [Fact]
    public void A_hand_written_version_1_header_parses()
    {
        string path = _files.File("v1.npy");
        WriteNpy(path, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", [1, 2, 3, 4, 5, 6]);

        using var source = NpyFeatureSource.Open(path);
        using var rows = source.Gather([1, 0]);
        Assert.Equal(new float[] { 4, 5, 6, 1, 2, 3 }, rows.data<float>().ToArray());
    }

    [Fact]
    public void A_version_2_header_parses()
    {
        string path = _files.File("v2.npy");
        WriteNpy(path, 2, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 1), }", [7, 8, 9]);

        using var source = NpyFeatureSource.Open(path);
        using var rows = source.Read(1, 2);
        Assert.Equal(new float[] { 8, 9 }, rows.data<float>().ToArray());
    }

    [Theory]
    [InlineData("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", "dtype '<f8' is not supported")]
    [InlineData("{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }", "dtype '>f4' is not supported")]
    [InlineData("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", "fortran_order is True")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }", "has rank 1")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, 3), }", "has rank 3")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 3), }", "file is truncated")]
    [InlineData("{'fortran_order': False, 'shape': (2, 3), }", "no readable 'descr' entry")]
    public void Bad_headers_are_refused_naming_the_file(string header, string expected)
    {
        string path = _files.File("bad.npy");
        WriteNpy(path, 1, header, [1, 2, 3, 4, 5, 6]);

        var error = Assert.Throws<InvalidDataException>(() => NpyFeatureSource.Open(path));
        Assert.StartsWith(path + ":", error.Message, StringComparison.Ordinal);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_file_that_is_not_npy_is_refused()
    {
        string path = _files.File("text.npy");
        File.WriteAllText(path, "hello, this is not numpy");

        var error = Assert.Throws<InvalidDataException>(() => NpyFeatureSource.Open(path));
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains("not a NumPy .npy file", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_file_is_named()
    {
        string path = _files.File("absent.npy");
        var error = Assert.Throws<FileNotFoundException>(() => NpyFeatureSource.Open(path));
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
    }

    private static void WriteNpy(string path, byte major, string dict, float[] data)
    {
        var header = Encoding.Latin1.GetBytes(dict + "\n");
        using var stream = File.Create(path);
        stream.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', major, 0]);
        if (major == 1)
        {
            stream.Write(BitConverter.GetBytes((ushort)header.Length));
        }
        else
        {
            stream.Write(BitConverter.GetBytes((uint)header.Length));
        }

        stream.Write(header);
        foreach (float value in data)
        {
            stream.Write(BitConverter.GetBytes(value));
        }
    }
}
