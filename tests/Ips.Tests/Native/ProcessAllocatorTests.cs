using Ips.Native;

namespace Ips.Tests.Native;

public sealed class ProcessAllocatorTests
{
    [Fact]
    public void Configure_keeps_freed_memory_and_gives_children_the_same_settings()
    {
        var state = ProcessAllocator.Configure();

        // Idempotent: a second call reports the same state and changes nothing.
        Assert.Equal(state, ProcessAllocator.Configure());
        Assert.Equal(state, ProcessAllocator.State);
        if (state.SetBy == "ips")
        {
            Assert.True(state.KeepsFreedMemory);
            Assert.Equal("glibc malloc", state.Allocator);
            var environment = ProcessAllocator.EquivalentEnvironment();
            Assert.Equal("0", environment["MALLOC_MMAP_MAX_"]);
            Assert.Equal(int.MaxValue.ToString(System.Globalization.CultureInfo.InvariantCulture), environment["MALLOC_TRIM_THRESHOLD_"]);
            Assert.Contains("mmap off", state.ToString(), StringComparison.Ordinal);
        }
        else
        {
            // The user's own settings (or a C library that is not glibc) are left alone, and nothing is handed on;
            // glibc at its defaults is never left as it was.
            Assert.False(state.SetBy == "none" && state.Allocator == "glibc malloc", state.ToString());
            Assert.Empty(ProcessAllocator.EquivalentEnvironment());
        }
    }
}
