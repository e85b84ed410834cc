using Ips.Native;
using Ips.Training;

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

    private const string Debian = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2";

    [Fact]
    public unsafe void Memory_freed_in_the_middle_of_the_heap_goes_back_to_the_system_when_released()
    {
        // The test host keeps freed memory, as ips does on glibc (Configure: no trimming); blocks freed below a live one
        // stay resident until ReleaseFreedMemory hands their pages back.
        var state = ProcessAllocator.Configure();
        Assert.True(state.Allocator == "glibc malloc" && state.SetBy == "ips", $"the test host runs on glibc as ips sets it, not on {state}");
        const int blocks = 256, size = 1 << 20;
        var freed = new IntPtr[blocks];
        for (var i = 0; i < blocks; i++)
        {
            freed[i] = System.Runtime.InteropServices.Marshal.AllocHGlobal(size);
            new Span<byte>((void*)freed[i], size).Fill(1);
        }
        var pin = System.Runtime.InteropServices.Marshal.AllocHGlobal(64);
        try
        {
            foreach (var block in freed)
            {
                System.Runtime.InteropServices.Marshal.FreeHGlobal(block);
            }
            var before = ProcessMemory.CurrentResidentBytes();
            ProcessAllocator.ReleaseFreedMemory();
            var after = ProcessMemory.CurrentResidentBytes();
            Assert.True(before - after > (blocks / 2) * (long)size, $"resident {before >> 20} MiB before, {after >> 20} MiB after the release");
        }
        finally
        {
            System.Runtime.InteropServices.Marshal.FreeHGlobal(pin);
        }
    }

    [Fact]
    public void Jemalloc_is_preloaded_only_where_installed_and_nothing_else_was_chosen()
    {
        static string? Decide(Dictionary<string, string> environment, params string[] files) =>
            ProcessAllocator.JemallocToPreload(name => environment.GetValueOrDefault(name), files.Contains);

        Assert.Equal(Debian, Decide([], Debian));
        Assert.Equal("/usr/lib64/libjemalloc.so.2", Decide([], "/usr/lib64/libjemalloc.so.2"));
        Assert.Equal(Debian, Decide(new() { ["IPS_ALLOCATOR"] = "jemalloc" }, Debian));
        Assert.Null(Decide([]));
        // The user's choices win: glibc asked for, a preload of their own (or the restart already done), allocator settings.
        Assert.Null(Decide(new() { ["IPS_ALLOCATOR"] = "glibc" }, Debian));
        Assert.Null(Decide(new() { ["LD_PRELOAD"] = "/opt/libtcmalloc.so" }, Debian));
        Assert.Null(Decide(new() { ["MALLOC_CONF"] = "narenas:1" }, Debian));
        Assert.Null(Decide(new() { ["MALLOC_MMAP_MAX_"] = "0" }, Debian));
        Assert.Null(Decide(new() { ["GLIBC_TUNABLES"] = "glibc.malloc.hugetlb=1" }, Debian));
        // Empty values count as unset.
        Assert.Equal(Debian, Decide(new() { ["LD_PRELOAD"] = "", ["IPS_ALLOCATOR"] = "" }, Debian));
    }

    [Fact]
    public void The_restart_preloads_jemalloc_and_caps_the_gen0_budget_unless_the_user_set_one()
    {
        var restart = ProcessAllocator.RestartEnvironment(new Dictionary<string, string> { ["HOME"] = "/home/u", ["IPS_ALLOCATOR"] = "" }, Debian);
        Assert.Equal("/home/u", restart["HOME"]);
        Assert.Equal(Debian, restart["LD_PRELOAD"]);
        Assert.Equal(ProcessAllocator.JemallocConfig, restart["MALLOC_CONF"]);
        Assert.Equal("jemalloc", restart["IPS_ALLOCATOR"]);
        Assert.Equal("0x600000", restart["DOTNET_GCgen0size"]);

        var own = ProcessAllocator.RestartEnvironment(new Dictionary<string, string> { ["DOTNET_GCgen0size"] = "0x4000000" }, Debian);
        Assert.Equal("0x4000000", own["DOTNET_GCgen0size"]);
    }

    [Fact]
    public void The_test_host_runs_with_the_gen0_budget_of_the_ips_command()
    {
        // ips.runsettings sets it, so that the memory tests measure what the ips command would.
        Assert.Equal(ProcessAllocator.Gen0Budget, Environment.GetEnvironmentVariable(ProcessAllocator.Gen0BudgetVariable));
    }

    [Fact]
    public void A_bad_allocator_choice_names_the_variable_and_what_it_takes()
    {
        var unknown = Assert.Throws<ArgumentException>(() =>
            ProcessAllocator.JemallocToPreload(name => name == "IPS_ALLOCATOR" ? "tcmalloc" : null, _ => true));
        Assert.Equal("IPS_ALLOCATOR=tcmalloc: expected jemalloc or glibc.", unknown.Message);

        var missing = Assert.Throws<ArgumentException>(() =>
            ProcessAllocator.JemallocToPreload(name => name == "IPS_ALLOCATOR" ? "jemalloc" : null, _ => false));
        Assert.StartsWith("IPS_ALLOCATOR=jemalloc: libjemalloc.so.2 is not installed", missing.Message, StringComparison.Ordinal);
        Assert.Contains("apt-get install libjemalloc2", missing.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_command_line_is_read_back_argument_by_argument()
    {
        static byte[] Bytes(string text) => System.Text.Encoding.UTF8.GetBytes(text);

        Assert.Equal(["dotnet", "/x/Ips.Cli.dll", "train", "-c", "a b.yml"],
            ProcessAllocator.CommandLine(Bytes("dotnet\0/x/Ips.Cli.dll\0train\0-c\0a b.yml\0")));
        // An empty argument is an argument; non-ASCII survives.
        Assert.Equal(["ips", "", "café"], ProcessAllocator.CommandLine(Bytes("ips\0\0café\0")));
    }
}

