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

    /// <summary>The variable that picks the allocator of the <c>ips</c> command: <c>jemalloc</c> (the default where installed) or <c>glibc</c>.</summary>
    public const string ChoiceVariable = "IPS_ALLOCATOR";

    /// <summary>
    /// jemalloc's settings for training: freed pages are never handed back (no dirty or muzzy decay), so a step
    /// reuses the previous step's memory from jemalloc's size classes without page faults; and blocks above 8 MiB
    /// stay in the ordinary arenas instead of a separate one for huge blocks (<c>oversize_threshold:0</c>), which
    /// measured faster and lower on the CAMELYON16 features, whose chunks are 80 MB blocks (docs/performance.md).
    /// </summary>
    public const string JemallocConfig = "dirty_decay_ms:-1,muzzy_decay_ms:-1,oversize_threshold:0";

    /// <summary>The variable with which the .NET runtime takes its young-generation (gen0) allocation budget, read only at startup.</summary>
    public const string Gen0BudgetVariable = "DOTNET_GCgen0size";

    /// <summary>
    /// The gen0 budget <see cref="RestartOnJemalloc"/> sets (hexadecimal, as the runtime reads it): 6 MiB, the cap of
    /// .NET's concurrent workstation collector, which it lifts when the L3 cache is large. It sizes the budget from
    /// the L3 cache the CPU reports; a VM that reports 260 MiB gets a budget near 100 MiB, so a pass that makes steady
    /// small garbage (LibTiff.NET's JPEG decoder state for every slide tile it decodes) grows the managed heap by tens
    /// of MiB before its first collection, while a small slide never gets there: the slides benchmark's peak rose
    /// 1.29x from a 10k to a 100k slide, 1.13x with this cap (docs/performance.md, "Whole slides").
    /// </summary>
    public const string Gen0Budget = "0x600000";

    /// <summary>Where Debian's and Fedora's <c>libjemalloc2</c> put the library.</summary>
    private static readonly string[] JemallocPaths =
    [
        "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2",
        "/usr/lib/aarch64-linux-gnu/libjemalloc.so.2",
        "/usr/lib64/libjemalloc.so.2",
        "/usr/lib/libjemalloc.so.2",
        "/usr/local/lib/libjemalloc.so.2",
    ];

    private static readonly Lock Gate = new();
    private static AllocatorState? _configured;

    /// <summary>
    /// Runs this program on jemalloc: where Debian's <c>libjemalloc2</c> is installed and the user chose no allocator,
    /// replaces the process (<c>execve</c>, same program, arguments and id) with one that preloads it, with
    /// <see cref="JemallocConfig"/>, and .NET's gen0 budget capped at <see cref="Gen0Budget"/>. Its size classes keep the memory of one training step reusable by the next
    /// without the fragmentation glibc shows with mmap off (on Megapixel MNIST the peak fell from about 4.6 to 2.5
    /// GB at the same speed, docs/performance.md). Call it first thing in <c>Main</c>, before anything else runs: the
    /// <c>ips</c> command does. Returns only when the process stays as it is: already on jemalloc or another
    /// preloaded library (<c>LD_PRELOAD</c> set), allocator settings in the environment (<c>MALLOC_CONF</c>,
    /// <c>MALLOC_*</c>, <c>GLIBC_TUNABLES</c>), <c>IPS_ALLOCATOR=glibc</c>, jemalloc not installed, not Linux, or
    /// <c>execve</c> refused; <see cref="Configure"/> then sets up glibc.
    /// </summary>
    /// <exception cref="ArgumentException"><c>IPS_ALLOCATOR</c> has a value other than <c>jemalloc</c> or <c>glibc</c>,
    /// or asks for jemalloc where it is not installed.</exception>
    public static void RestartOnJemalloc()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }
        var library = JemallocToPreload(Environment.GetEnvironmentVariable, File.Exists);
        if (library is null || Environment.ProcessPath is not { } program)
        {
            return;
        }
        var arguments = CommandLine(File.ReadAllBytes("/proc/self/cmdline"));
        var environment = RestartEnvironment(Environment.GetEnvironmentVariables()
            .Cast<System.Collections.DictionaryEntry>()
            .ToDictionary(entry => (string)entry.Key, entry => (string?)entry.Value ?? "", StringComparer.Ordinal), library);
        // Null-terminated arrays, as execve takes them. On success execve does not return.
        string?[] argv = [.. arguments, null];
        string?[] envp = [.. environment.Select(pair => pair.Key + "=" + pair.Value), null];
        try
        {
            Execve(program, argv, envp);
        }
        catch (Exception error) when (error is DllNotFoundException or EntryPointNotFoundException)
        {
            // No execve here: the process carries on with glibc.
        }
    }

    /// <summary>
    /// The environment <see cref="RestartOnJemalloc"/> restarts with: <paramref name="current"/> plus jemalloc preloaded
    /// from <paramref name="library"/> with <see cref="JemallocConfig"/>, and .NET's young-generation budget capped at
    /// <see cref="Gen0Budget"/> unless the user set <see cref="Gen0BudgetVariable"/>.
    /// </summary>
    internal static Dictionary<string, string> RestartEnvironment(IReadOnlyDictionary<string, string> current, string library)
    {
        var environment = new Dictionary<string, string>(current, StringComparer.Ordinal)
        {
            ["LD_PRELOAD"] = library,
            ["MALLOC_CONF"] = JemallocConfig,
            [ChoiceVariable] = "jemalloc",
        };
        environment.TryAdd(Gen0BudgetVariable, Gen0Budget);
        return environment;
    }

    /// <summary>
    /// The jemalloc library <see cref="RestartOnJemalloc"/> would preload in an environment (read with
    /// <paramref name="environment"/>) on a machine whose files <paramref name="exists"/> tells; null to stay as is.
    /// </summary>
    internal static string? JemallocToPreload(Func<string, string?> environment, Func<string, bool> exists)
    {
        var choice = environment(ChoiceVariable);
        if (choice is { Length: > 0 } && choice is not ("jemalloc" or "glibc"))
        {
            throw new ArgumentException($"{ChoiceVariable}={choice}: expected jemalloc or glibc.");
        }
        if (choice == "glibc"
            || environment("LD_PRELOAD") is { Length: > 0 }
            || environment("MALLOC_CONF") is { Length: > 0 }
            || EnvironmentSettings.Any(name => environment(name) is { Length: > 0 }))
        {
            return null;
        }
        var library = JemallocPaths.FirstOrDefault(exists);
        if (library is null && choice == "jemalloc")
        {
            throw new ArgumentException(
                $"{ChoiceVariable}=jemalloc: libjemalloc.so.2 is not installed (looked in {string.Join(", ", JemallocPaths)}); " +
                $"install it (apt-get install libjemalloc2) or unset {ChoiceVariable}.");
        }
        return library;
    }

    /// <summary>The arguments in <c>/proc/self/cmdline</c>'s form: each one followed by a zero byte.</summary>
    internal static IReadOnlyList<string> CommandLine(byte[] cmdline)
    {
        var text = System.Text.Encoding.UTF8.GetString(cmdline);
        return text.EndsWith('\0') ? text[..^1].Split('\0') : text.Split('\0');
    }

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
    /// The variables that give a child process that is not .NET (a Python benchmark, say) the allocator ips chose
    /// here: jemalloc's <c>LD_PRELOAD</c> and <c>MALLOC_CONF</c> after <see cref="RestartOnJemalloc"/>, else the
    /// <c>MALLOC_*</c> settings <see cref="Configure"/> applied; empty when ips chose none (the child inherits the environment).
    /// </summary>
    public static IReadOnlyDictionary<string, string> EquivalentEnvironment() => State switch
    {
        { SetBy: not "ips" } => new Dictionary<string, string>(),
        { Allocator: "jemalloc" } => new Dictionary<string, string>
        {
            ["LD_PRELOAD"] = Environment.GetEnvironmentVariable("LD_PRELOAD") ?? "",
            ["MALLOC_CONF"] = JemallocConfig,
        },
        _ => new Dictionary<string, string>
        {
            ["MALLOC_MMAP_MAX_"] = "0",
            ["MALLOC_TRIM_THRESHOLD_"] = TrimThreshold.ToString(CultureInfo.InvariantCulture),
            ["MALLOC_TOP_PAD_"] = TopPad.ToString(CultureInfo.InvariantCulture),
        },
    };

    /// <summary>
    /// Hands the pages of memory freed so far back to the system: jemalloc's dirty pages of every arena
    /// (<c>arena.4096.purge</c>), or glibc's free heap pages (<c>malloc_trim</c>). The settings above keep freed memory
    /// for the next training step, which a pass over a whole slide does not need: what its tile decoding freed would
    /// otherwise stay resident for the rest of the process, more the larger the slide (docs/performance.md, "Whole
    /// slides"). A no-op for other allocators.
    /// </summary>
    public static void ReleaseFreedMemory()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }
        // A preloaded jemalloc's mallctl is in the process's global symbol scope; glibc has none.
        if (NativeLibrary.TryGetExport(NativeLibrary.GetMainProgramHandle(), "mallctl", out var mallctl))
        {
            unsafe
            {
                var purge = (delegate* unmanaged<byte*, void*, nuint*, void*, nuint, int>)mallctl;
                fixed (byte* name = "arena.4096.purge\0"u8)
                {
                    _ = purge(name, null, null, null, 0);
                }
            }
            return;
        }
        if (State.Allocator == "glibc malloc")
        {
            _ = MallocTrim(0);
        }
    }

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
        // What the process runs on, not what LD_PRELOAD asked for: a preload that failed leaves glibc in charge.
        var mapped = OperatingSystem.IsLinux() && File.Exists("/proc/self/maps") ? File.ReadAllText("/proc/self/maps") : "";
        foreach (var other in new[] { "jemalloc", "tcmalloc", "mimalloc" })
        {
            if (!preload.Contains(other, StringComparison.OrdinalIgnoreCase) || !mapped.Contains("lib" + other, StringComparison.Ordinal))
            {
                continue;
            }
            var config = Environment.GetEnvironmentVariable("MALLOC_CONF");
            return other == "jemalloc" && Environment.GetEnvironmentVariable(ChoiceVariable) == "jemalloc" && config == JemallocConfig
                ? new AllocatorState(other, KeepsFreedMemory: true, "ips", $"preloaded {preload}, MALLOC_CONF={config}: no decay")
                : new AllocatorState(other, KeepsFreedMemory: true, "environment", "LD_PRELOAD=" + preload);
        }
        if (!OperatingSystem.IsLinux() || !IsGlibc())
        {
            return new AllocatorState("system allocator", KeepsFreedMemory: false, "none", "not glibc; unchanged");
        }
        if (setByIps)
        {
            var jemalloc = JemallocPaths.Any(File.Exists) ? "" : "; jemalloc, which peaks lower, is not installed (apt-get install libjemalloc2)";
            return new AllocatorState("glibc malloc", KeepsFreedMemory: true, "ips",
                string.Create(CultureInfo.InvariantCulture,
                    $"mmap off, trim threshold {(TrimThreshold >> 20) + 1} MiB, top pad {TopPad >> 20} MiB{jemalloc}"));
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

    [LibraryImport("libc.so.6", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);

    [LibraryImport("libc.so.6", EntryPoint = "execve", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Execve(string path, string?[] argv, string?[] envp);

    [LibraryImport("libc.so.6", EntryPoint = "gnu_get_libc_version")]
    private static partial IntPtr GnuGetLibcVersion();
}
