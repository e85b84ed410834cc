using Ips.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace Ips.Tests.Native;

public sealed class TorchRuntimeTests
{
    [Fact]
    public void A_tensor_operation_gives_the_known_product()
    {
        using var scope = NewDisposeScope();
        var a = tensor(new float[] { 1, 2, 3, 4 }).reshape(2, 2);
        var b = tensor(new float[] { 5, 6, 7, 8 }).reshape(2, 2);
        Assert.Equal(new float[] { 19, 22, 43, 50 }, a.matmul(b).data<float>().ToArray());
    }

    [Fact]
    public void A_torchvision_resnet18_forward_pass_runs()
    {
        using var scope = NewDisposeScope();
        manual_seed(0);
        using var model = torchvision.models.resnet18(num_classes: 10);
        model.eval();
        using var _ = no_grad();
        var output = model.call(randn(2, 3, 64, 64));
        Assert.Equal(new long[] { 2, 10 }, output.shape);
        Assert.True(output.isfinite().all().item<bool>());
        Assert.True(output.abs().sum().item<float>() > 0);
    }

    [Fact]
    public void Describe_reports_the_libtorch_package_and_cpu_threads()
    {
        var info = TorchRuntime.Describe();
        Assert.Equal("2.10.0", info.LibtorchVersion);
        Assert.StartsWith("libtorch-", info.LibtorchPackage, StringComparison.Ordinal);
        Assert.True(info.Threads >= 1);
    }

    [Theory]
    [InlineData("gpu")]
    [InlineData("tpu:0")]
    public void An_unknown_device_name_is_refused(string name)
    {
        var error = Assert.Throws<ArgumentException>(() => TorchRuntime.ResolveDevice(name));
        Assert.Contains(name, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Cpu_and_auto_resolve_without_a_gpu()
    {
        Assert.Equal(DeviceType.CPU, TorchRuntime.ResolveDevice("cpu").type);
        var auto = TorchRuntime.ResolveDevice("auto");
        Assert.Equal(cuda.is_available() ? DeviceType.CUDA : DeviceType.CPU, auto.type);
    }
}
