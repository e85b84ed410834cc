using System.Reflection;
using System.Text.Json;
using TorchSharp;

namespace Ips.Native;

/// <summary>What the process found when it loaded libtorch: versions, threads, devices, and the compatibility fix.</summary>
/// <param name="DotnetVersion">The .NET runtime version.</param>
/// <param name="TorchSharpVersion">The TorchSharp assembly version.</param>
/// <param name="LibtorchVersion">The libtorch version the program was built against (from its dependency manifest).</param>
/// <param name="LibtorchPackage">The libtorch package in use (CPU or CUDA build).</param>
/// <param name="Threads">libtorch's intra-op thread count.</param>
/// <param name="CudaDevices">Name and total memory (bytes) of each CUDA device; empty on a CPU-only machine or build.</param>
/// <param name="FixState">The GLIBCXX_3.4.32 need of the libLibTorchSharp.so this process loaded.</param>
/// <param name="SystemLacksGlibcxx">Whether the system's libstdc++ lacks GLIBCXX_3.4.32 (so the fix is required).</param>
public sealed record TorchRuntimeInfo(
    string DotnetVersion,
    string TorchSharpVersion,
    string LibtorchVersion,
    string LibtorchPackage,
    int Threads,
    IReadOnlyList<(string Name, long TotalMemory)> CudaDevices,
    string FixState,
    bool SystemLacksGlibcxx);

/// <summary>Loads libtorch, reports on it, and turns the user's <c>--device</c> choice into a device.</summary>
public static class TorchRuntime
{
    /// <summary>
    /// Forces libtorch to load. Call it before the first tensor in a program or notebook that references the Ips
    /// package: where the native libraries come from the NuGet folder it also applies the GLIBCXX compatibility fix
    /// (see <c>PackagedNativePreload</c>). Throws <see cref="TorchLoadException"/> with a readable message when the native
    /// libraries cannot be loaded, instead of a type-initialisation failure deep inside TorchSharp.
    /// </summary>
    public static void EnsureLoaded()
    {
        PackagedNativePreload.PreloadIfNeeded();
        try
        {
            using var probe = torch.zeros(1);
            Nnpack.Disable();
        }
        catch (Exception error) when (error is TypeInitializationException or DllNotFoundException or NotSupportedException)
        {
            var inner = error;
            while (inner.InnerException is not null)
            {
                inner = inner.InnerException;
            }
            throw new TorchLoadException(
                $"libtorch could not be loaded: {inner.Message} " +
                $"(libLibTorchSharp.so GLIBCXX_3.4.32 need: {DescribeFix(LocateLibTorchSharp())}). " +
                "Rebuild with `dotnet build` so the compatibility fix is applied to the output, and check that the libtorch package matches this machine.",
                error);
        }
    }

    /// <summary>Resolves <c>auto</c>, <c>cpu</c> or <c>cuda</c> (optionally <c>cuda:N</c>) to a device.</summary>
    /// <exception cref="ArgumentException">The name is unknown, or CUDA is requested but not available.</exception>
    public static torch.Device ResolveDevice(string name)
    {
        EnsureLoaded();
        var normalised = name.Trim().ToLowerInvariant();
        if (normalised == "auto")
        {
            return torch.cuda.is_available() ? torch.CUDA : torch.CPU;
        }
        if (normalised == "cpu")
        {
            return torch.CPU;
        }
        if (normalised == "cuda" || normalised.StartsWith("cuda:", StringComparison.Ordinal))
        {
            if (!torch.cuda.is_available())
            {
                throw new ArgumentException(
                    $"--device {name}: CUDA is not available (this build uses the '{LibtorchPackageName()}' package, or no GPU/driver was found). " +
                    "Use --device cpu, or build with -p:IpsTorchBackend=cuda on a machine with an NVIDIA driver.");
            }
            return new torch.Device(normalised);
        }
        throw new ArgumentException($"--device {name}: expected auto, cpu, cuda or cuda:N.");
    }

    /// <summary>Collects the facts <c>ips doctor</c> prints. Loads libtorch.</summary>
    public static TorchRuntimeInfo Describe()
    {
        EnsureLoaded();
        var devices = new List<(string, long)>();
        if (torch.cuda.is_available())
        {
            for (var i = 0; i < torch.cuda.device_count(); i++)
            {
                var described = Nvml.Describe(i);
                devices.Add(described is { } d ? ($"cuda:{i} {d.Name}", d.Total) : ($"cuda:{i}", -1));
            }
        }
        var library = LocateLibTorchSharp();
        return new TorchRuntimeInfo(
            Environment.Version.ToString(),
            typeof(torch).Assembly.GetName().Version?.ToString(3) ?? "unknown",
            LibtorchVersion(),
            LibtorchPackageName(),
            torch.get_num_threads(),
            devices,
            DescribeFix(library),
            GlibcxxWeakFix.SystemLacksVersion());
    }

    /// <summary>The copy of libLibTorchSharp.so next to the running program, or null when there is none.</summary>
    public static string? LocateLibTorchSharp()
    {
        var baseDir = AppContext.BaseDirectory;
        foreach (var candidate in new[]
                 {
                     Path.Combine(baseDir, "runtimes", "linux-x64", "native", "libLibTorchSharp.so"),
                     Path.Combine(baseDir, "libLibTorchSharp.so"),
                 })
        {
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        return null;
    }

    private static string DescribeFix(string? library)
    {
        if (library is null)
        {
            return "libLibTorchSharp.so not found next to the program";
        }
        try
        {
            return GlibcxxWeakFix.Inspect(File.ReadAllBytes(library), library) switch
            {
                GlibcxxNeedState.Weak => "weak (compatibility fix applied)",
                GlibcxxNeedState.Strong => "strong (fix not applied)",
                _ => "absent (no fix needed)",
            };
        }
        catch (InvalidDataException error)
        {
            return error.Message;
        }
    }

    /// <summary>Name of the libtorch package this program was built with, read from its .deps.json manifest.</summary>
    private static string LibtorchPackageName() => FindLibtorchLibrary()?.Name ?? "unknown";

    private static string LibtorchVersion() => FindLibtorchLibrary()?.Version ?? "unknown";

    private static (string Name, string Version)? FindLibtorchLibrary()
    {
        var entry = Assembly.GetEntryAssembly();
        var manifest = entry is null ? null : Path.Combine(AppContext.BaseDirectory, entry.GetName().Name + ".deps.json");
        if (manifest is null || !File.Exists(manifest))
        {
            manifest = Directory.EnumerateFiles(AppContext.BaseDirectory, "*.deps.json").FirstOrDefault();
        }
        if (manifest is null)
        {
            return null;
        }
        using var document = JsonDocument.Parse(File.ReadAllText(manifest));
        if (!document.RootElement.TryGetProperty("libraries", out var libraries))
        {
            return null;
        }
        foreach (var library in libraries.EnumerateObject())
        {
            var parts = library.Name.Split('/');
            if (parts.Length == 2 && parts[0].StartsWith("libtorch-", StringComparison.OrdinalIgnoreCase))
            {
                return (parts[0], parts[1]);
            }
        }
        return null;
    }
}

/// <summary>libtorch's native libraries could not be loaded; the message says what was found and what to do.</summary>
public sealed class TorchLoadException : Exception
{
    /// <summary>Creates the exception.</summary>
    public TorchLoadException(string message, Exception inner) : base(message, inner)
    {
    }
}
