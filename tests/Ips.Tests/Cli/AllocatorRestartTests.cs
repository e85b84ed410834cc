using System.Text.RegularExpressions;

namespace Ips.Tests.Cli;

/// <summary>
/// The <c>ips</c> program starting over on jemalloc (<c>ProcessAllocator.RestartOnJemalloc</c>), seen from outside:
/// <c>ips doctor</c> reports the allocator the process found mapped in <c>/proc/self/maps</c>, not the one asked for.
/// run-tests installs libjemalloc2.
/// </summary>
public sealed class AllocatorRestartTests
{
    private static readonly string Directory = Path.GetTempPath();

    /// <summary>Doctor's table without borders and white space: a cell wraps at 80 columns, even inside a word.</summary>
    private static string Squeezed(string text) => Regex.Replace(text, @"[│\s]+", "");

    private static void AssertRow(string expected, string doctorOutput) =>
        Assert.True(Squeezed(doctorOutput).Contains(Squeezed(expected), StringComparison.Ordinal), $"no '{expected}' in:\n{doctorOutput}");

    [Fact]
    public void By_default_the_program_runs_on_jemalloc_without_decay()
    {
        var (code, text) = CliProcess.Run(Directory, "doctor");

        Assert.True(code == 0, text);
        AssertRow("allocator jemalloc: freed memory kept for reuse (preloaded ", text);
        AssertRow("libjemalloc.so.2, MALLOC_CONF=dirty_decay_ms:-1,muzzy_decay_ms:-1,oversize_threshold:0: no decay; set by ips)", text);
    }

    [Fact]
    public void Ips_allocator_glibc_keeps_glibc_with_freed_memory_kept()
    {
        using var child = CliProcess.Start(Directory, ["env", "IPS_ALLOCATOR=glibc"], "doctor");

        Assert.Equal(0, child.WaitForExit());
        AssertRow("allocator glibc malloc: freed memory kept for reuse (mmap off,", child.Output);
        Assert.DoesNotContain("jemalloc", Squeezed(child.Output), StringComparison.Ordinal);
    }

    [Fact]
    public void A_preload_of_the_users_own_is_left_alone()
    {
        // A preload that is not an allocator: no restart, and glibc gets its settings as without one.
        var library = new[] { "/usr/lib/x86_64-linux-gnu/libz.so.1", "/lib/x86_64-linux-gnu/libz.so.1" }.First(File.Exists);
        using var child = CliProcess.Start(Directory, ["env", "LD_PRELOAD=" + library], "doctor");

        Assert.Equal(0, child.WaitForExit());
        AssertRow("allocator glibc malloc: freed memory kept for reuse (mmap off,", child.Output);
    }

    [Fact]
    public void An_unknown_allocator_is_refused_with_the_variable_named()
    {
        using var child = CliProcess.Start(Directory, ["env", "IPS_ALLOCATOR=tcmalloc"], "doctor");

        Assert.Equal(2, child.WaitForExit());
        Assert.Equal("error: IPS_ALLOCATOR=tcmalloc: expected jemalloc or glibc.", child.Output.Trim());
    }
}
