using System.Globalization;
using System.Runtime.InteropServices;

namespace Ips.Native;

/// <summary>How the process's C allocator (which libtorch's CPU tensors come from) treats freed memory.</summary>
/// <param name="Allocator">Which allocator serves the process: <c>glibc malloc</c>, or the preloaded library.</param>
/// <param name="KeepsFreedMemory">Whether freed memory stays in the process for reuse instead of going back to the system.</param>
/// <param name="SetBy">Who chose the settings: <c>ips</c> (<see cref="ProcessAllocator.Configure"/>), <c>environment</c>, or <c>none</c>.</param>
/// <param name="Detail">The settings in words, e.g. <c>mmap off, trim threshold 2048 MiB, top pad 256 MiB</c>.</param>
public sealed record AllocatorState(string Allocator, bool KeepsFreedMemory, string SetBy, string Detail)
{
    /// <summary>One line for <c>ips doctor</c> and benchmark reports.</summary>
    public override string ToString() =>
        $"{Allocator}: {(KeepsFreedMemory ? "freed memory kept for reuse" : "freed memory returned to the system")} ({Detail}; set by {SetBy})";
}

/// <summary>
/// Makes the process keep freed memory for reuse. A training step frees hundreds of megabytes of activations and
/// allocates them again in the next step; glibc's defaults serve each large block with its own <c>mmap</c> and
/// <c>munmap</c> it on free, so every step faults all those pages in afresh, which costs more than the arithmetic
/// on a VM where a page fault is slow (measured in docs/performance.md). Call <see cref="Configure"/> once, first
/// thing in <c>Main</c>, before libtorch allocates: the <c>ips</c> command does.
/// </summary>
public static partial class ProcessAllocator
{
    // mallopt parameter numbers from glibc's malloc.h.
    private const int MTrimThreshold = -1;
    private const int MTopPad = -2;
    private const int MMmapMax = -4;

    /// <summary>Freed memory at the top of the heap goes back to the system only beyond this (the most mallopt takes: 2 GiB).</summary>
    private const int TrimThreshold = int.MaxValue;

    /// <summary>Extra heap requested with each growth, so a growing step needs few <c>brk</c> calls.</summary>
    private const int TopPad = 256 << 20;

    /// <summary>The variables with which a user sets glibc's malloc by hand; when any is set, it is left alone.</summary>
    private static readonly string[] EnvironmentSettings =
        ["MALLOC_MMAP_MAX_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_MMAP_THRESHOLD_", "GLIBC_TUNABLES"];

    private static readonly Lock Gate = new();
    private static AllocatorState? _configured;

    /// <summary>
    /// Keeps freed memory in the process (glibc: no <c>mmap</c> for large blocks, no trimming of the heap).
    /// Idempotent. Leaves the allocator alone where the user chose already (a <c>MALLOC_*</c> variable,
    /// <c>GLIBC_TUNABLES</c>, or another allocator in <c>LD_PRELOAD</c>) and where the C library is not glibc.
    /// Peak resident memory stays that of the largest step; memory is not given back between steps.
    /// </summary>
    /// <returns>The allocator's state afterwards, as <see cref="State"/> reports it.</returns>
    public static AllocatorState Configure()
    {
        lock (Gate)
        {
            _configured ??= Apply();
            return _configured;
        }
    }

    /// <summary>The allocator's state: what <see cref="Configure"/> did, or what the process runs with when it was not called.</summary>
    public static AllocatorState State
    {
        get
        {
            lock (Gate)
            {
                return _configured ?? Inspect(setByIps: false);
            }
        }
    }

    /// <summary>
    /// The <c>MALLOC_*</c> variables that give a child process that is not .NET (a Python benchmark, say) the
    /// settings <see cref="Configure"/> applied here; empty when it applied none (the child inherits the environment).
    /// </summary>
    public static IReadOnlyDictionary<string, string> EquivalentEnvironment() => State.SetBy == "ips"
        ? new Dictionary<string, string>
        {
            ["MALLOC_MMAP_MAX_"] = "0",
            ["MALLOC_TRIM_THRESHOLD_"] = TrimThreshold.ToString(CultureInfo.InvariantCulture),
            ["MALLOC_TOP_PAD_"] = TopPad.ToString(CultureInfo.InvariantCulture),
        }
        : new Dictionary<string, string>();

    private static AllocatorState Apply()
    {
        var found = Inspect(setByIps: false);
        if (found.SetBy != "none" || found.Allocator != "glibc malloc")
        {
            return found;
        }
        try
        {
            var applied = MallOpt(MMmapMax, 0) == 1
                          & MallOpt(MTrimThreshold, TrimThreshold) == 1
                          & MallOpt(MTopPad, TopPad) == 1;
            return applied ? Inspect(setByIps: true) : found with { Detail = "mallopt refused the settings; glibc defaults" };
        }
        catch (Exception error) when (error is DllNotFoundException or EntryPointNotFoundException)
        {
            return found with { Detail = "mallopt unavailable; C library defaults" };
        }
    }

    private static AllocatorState Inspect(bool setByIps)
    {
        var preload = Environment.GetEnvironmentVariable("LD_PRELOAD") ?? "";
        foreach (var other in new[] { "jemalloc", "tcmalloc", "mimalloc" })
        {
            if (preload.Contains(other, StringComparison.OrdinalIgnoreCase))
            {
                return new AllocatorState(other, KeepsFreedMemory: true, "environment", "LD_PRELOAD=" + preload);
            }
        }
        if (!OperatingSystem.IsLinux() || !IsGlibc())
        {
            return new AllocatorState("system allocator", KeepsFreedMemory: false, "none", "not glibc; unchanged");
        }
        if (setByIps)
        {
            return new AllocatorState("glibc malloc", KeepsFreedMemory: true, "ips",
                string.Create(CultureInfo.InvariantCulture,
                    $"mmap off, trim threshold {(TrimThreshold >> 20) + 1} MiB, top pad {TopPad >> 20} MiB"));
        }
        var set = EnvironmentSettings
            .Where(name => Environment.GetEnvironmentVariable(name) is { Length: > 0 })
            .Select(name => name + "=" + Environment.GetEnvironmentVariable(name))
            .ToList();
        if (set.Count > 0)
        {
            var keeps = Environment.GetEnvironmentVariable("MALLOC_MMAP_MAX_") == "0";
            return new AllocatorState("glibc malloc", keeps, "environment", string.Join(" ", set));
        }
        return new AllocatorState("glibc malloc", KeepsFreedMemory: false, "none", "glibc defaults: large blocks mmapped and unmapped on free");
    }

    private static bool IsGlibc()
    {
        try
        {
            return GnuGetLibcVersion() != IntPtr.Zero;
        }
        catch (Exception error) when (error is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    [LibraryImport("libc.so.6", EntryPoint = "mallopt")]
    private static partial int MallOpt(int parameter, int value);

    [LibraryImport("libc.so.6", EntryPoint = "gnu_get_libc_version")]
    private static partial IntPtr GnuGetLibcVersion();
}
