using System.Text;
using Ips.Features;

namespace Ips.Tests.Features;

public sealed class SafetensorsFeatureSourceTests : IDisposable
{
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public void A_hand_written_file_reads_back()
    {
        string path = _files.File("features.safetensors");
        float[] data = [.. Enumerable.Range(0, 12).Select(i => i * 0.5f)];
        Write(path, """{"__metadata__":{"format":"pt"},"features":{"dtype":"F32","shape":[4,3],"data_offsets":[0,48]}}""", data);

        using var source = SafetensorsFeatureSource.Open(path);
        Assert.Equal("features", source.TensorName);
        Assert.Equal(4, source.Count);
        Assert.Equal(new long[] { 3 }, source.PatchShape);
        using var all = source.Read(0, 4);
        Assert.Equal(data, all.data<float>().ToArray());
        using var some = source.Gather([3, 1]);
        Assert.Equal(new[] { 4.5f, 5f, 5.5f, 1.5f, 2f, 2.5f }, some.data<float>().ToArray());
    }

    [Theory]
    [InlineData("""{"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"b":{"dtype":"F32","shape":[0,3],"data_offsets":[24,24]}}""",
        "expected exactly one feature tensor, found 2 (a, b)")]
    [InlineData("""{"a":{"dtype":"F16","shape":[2,6],"data_offsets":[0,24]}}""", "dtype F16")]
    [InlineData("""{"a":{"dtype":"F32","shape":[6],"data_offsets":[0,24]}}""", "rank 1")]
    [InlineData("""{"a":{"dtype":"F32","shape":[3,3],"data_offsets":[0,36]}}""", "file is truncated")]
    [InlineData("""{"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}}""", "do not span the 24 bytes")]
    [InlineData("""{"a":{"dtype":"F32","shape":[2,3]}}""", "lacks a valid dtype, shape or data_offsets")]
    [InlineData("""{"a":""", "not valid JSON")]
    public void Bad_files_are_refused_naming_the_file(string header, string expected)
    {
        string path = _files.File("bad.safetensors");
        Write(path, header, [1, 2, 3, 4, 5, 6]);

        var error = Assert.Throws<InvalidDataException>(() => SafetensorsFeatureSource.Open(path));
        Assert.StartsWith(path + ":", error.Message, StringComparison.Ordinal);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_infinite_value_is_refused_naming_the_file_and_row()
    {
        string path = _files.File("inf.safetensors");
        Write(path, """{"features":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}}""", [1, 2, 3, 4, float.PositiveInfinity, 6]);

        using var source = SafetensorsFeatureSource.Open(path);
        var error = Assert.Throws<InvalidDataException>(() => source.Read(0, 2));
        Assert.Equal($"{path}: row 1 holds Infinity (column 1); features must be finite numbers", error.Message);
    }

    [Fact]
    public void A_header_length_past_the_end_is_truncation()
    {
        string path = _files.File("short.safetensors");
        File.WriteAllBytes(path, [.. BitConverter.GetBytes(1000UL), .. "{}"u8]);

        var error = Assert.Throws<InvalidDataException>(() => SafetensorsFeatureSource.Open(path));
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains("truncated", error.Message, StringComparison.Ordinal);
    }

    private static void Write(string path, string header, float[] data)
    {
        var json = Encoding.UTF8.GetBytes(header);
        using var stream = File.Create(path);
        stream.Write(BitConverter.GetBytes((ulong)json.Length));
        stream.Write(json);
        foreach (float value in data)
        {
            stream.Write(BitConverter.GetBytes(value));
        }
    }
}
