using Ips.Native;

namespace Ips.Tests.Native;

public sealed class NnpackTests
{
    // libtorch prints "Could not initialize NNPACK! Reason: Unsupported hardware." on every eligible convolution
    // where NNPACK cannot start, unless its user setting is off: loading libtorch through TorchRuntime turns it off.
    [Fact]
    public void Loading_libtorch_turns_its_nnpack_setting_off()
    {
        TorchRuntime.EnsureLoaded();
        Assert.False(Nnpack.IsEnabled());
    }
}
