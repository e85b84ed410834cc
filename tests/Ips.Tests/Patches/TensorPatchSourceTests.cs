using Ips.Patches;
using static TorchSharp.torch;

namespace Ips.Tests.Patches;

public sealed class TensorPatchSourceTests
{
    private static readonly PatchGrid Overlapping = new(6, 8, 3, 2, 1, 2);

    private static void AssertSame(Tensor expected, Tensor actual)
    {
        Assert.Equal(expected.shape, actual.shape);
        Assert.Equal(expected.data<float>().ToArray(), actual.data<float>().ToArray());
    }

    private static Tensor Image() => randn(3, 6, 8, generator: new TorchSharp.torch.Generator(7));

    [Fact]
    public void Reads_and_gathers_equal_the_extracted_patches()
    {
        using var scope = NewDisposeScope();
        var image = Image();
        var all = PatchExtraction.Extract(image, Overlapping);
        using var source = TensorPatchSource.FromImage(image.clone(), Overlapping);

        Assert.Equal(Overlapping.Count, source.Count);
        Assert.Equal(new long[] { 3, 3, 2 }, source.PatchShape);
        AssertSame(all, source.Read(0, source.Count));
        AssertSame(all.narrow(0, 3, 7), source.Read(3, 7));
        long[] order = [11, 0, 5, 5, 15];
        AssertSame(all.index_select(0, tensor(order)), source.Gather(order));
    }

    [Fact]
    public void A_patch_tensor_source_reads_copies()
    {
        using var scope = NewDisposeScope();
        var patches = arange(20, dtype: ScalarType.Float32).reshape(5, 4);
        using var source = TensorPatchSource.FromPatches(patches.clone());

        var chunk = source.Read(1, 2);
        Assert.Equal(new float[] { 4, 5, 6, 7, 8, 9, 10, 11 }, chunk.data<float>().ToArray());
        chunk.fill_(-1);
        AssertSame(patches, source.Read(0, 5));
        Assert.Equal(new float[] { 16, 17, 18, 19, 0, 1, 2, 3 }, source.Gather([4, 0]).data<float>().ToArray());
    }

    [Fact]
    public void Out_of_range_reads_are_refused()
    {
        using var source = TensorPatchSource.FromImage(zeros(1, 6, 8), Overlapping);
        Assert.Throws<ArgumentOutOfRangeException>(() => source.Read(15, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => source.Gather([16]));
    }

    [Fact]
    public void ToDevice_makes_an_independent_source()
    {
        using var scope = NewDisposeScope();
        var image = Image();
        var source = TensorPatchSource.FromImage(image.clone(), Overlapping);
        using var moved = source.ToDevice(CPU);
        source.Dispose();

        Assert.Equal(TorchSharp.DeviceType.CPU, moved.Device.type);
        Assert.Equal(Overlapping, moved.Grid);
        AssertSame(PatchExtraction.Extract(image, Overlapping), moved.Read(0, moved.Count));
    }

    [Fact]
    public void Disposing_releases_the_tensor()
    {
        var image = zeros(1, 6, 8);
        var source = TensorPatchSource.FromImage(image, Overlapping);
        source.Dispose();
        source.Dispose();

        Assert.True(image.IsInvalid);
        Assert.Throws<ObjectDisposedException>(() => source.Read(0, 1));
    }

    [Fact]
    public void Non_float_tensors_are_refused()
    {
        using var patches = zeros(3, 2, dtype: ScalarType.Int64);
        var error = Assert.Throws<ArgumentException>(() => TensorPatchSource.FromPatches(patches));
        Assert.Contains("float32", error.Message, StringComparison.Ordinal);
    }
}
