using System.Runtime.InteropServices;
using TorchSharp;

namespace Ips.Native;

/// <summary>
/// Makes libtorch loadable where the native libraries come straight from the NuGet package folder rather than from
/// a build output: a notebook or script that references the Ips package, or a program built without this
/// repository's build targets. There the GLIBCXX fix of the build (see <c>build/GlibcxxWeakFix.cs</c>) has not run,
/// so on a system whose libstdc++ lacks GLIBCXX_3.4.32 TorchSharp's own loader fails. This writes a patched copy of
/// libLibTorchSharp.so into the user's cache (the package folder stays untouched) and loads it, after the libtorch
/// libraries it needs, by full path; TorchSharp's later load by name then finds the library already loaded.
/// </summary>
internal static class PackagedNativePreload
{
    private const string NativeSubdirectory = "runtimes/linux-x64/native";
    private static readonly object Gate = new();
    private static bool _attempted;

    /// <summary>Runs once per process; does nothing unless the fix is needed and the package layout is found.</summary>
    public static void PreloadIfNeeded()
    {
        lock (Gate)
        {
            if (_attempted)
            {
                return;
            }
            _attempted = true;
            if (!OperatingSystem.IsLinux() || !GlibcxxWeakFix.SystemLacksVersion())
            {
                return;
            }
            // A build output holds its own (patched) copy next to the program: TorchSharp loads that one.
            if (TorchRuntime.LocateLibTorchSharp() is not null)
            {
                return;
            }
            if (FindPackageLibraries() is not { } found)
            {
                return;
            }
            foreach (var dependency in found.Dependencies)
            {
                NativeLibrary.Load(dependency);
            }
            NativeLibrary.Load(PatchedCopy(found.LibTorchSharp, found.Version));
        }
    }

    /// <summary>
    /// In the NuGet layout TorchSharp.dll lies in <c>torchsharp/VERSION/lib/TFM/</c>, its native library in
    /// <c>torchsharp/VERSION/runtimes/linux-x64/native/</c> and libtorch's in <c>libtorch-cpu-linux-x64/VERSION/...</c>.
    /// </summary>
    private static (string LibTorchSharp, string Version, IReadOnlyList<string> Dependencies)? FindPackageLibraries()
    {
        var assemblyDirectory = Path.GetDirectoryName(typeof(torch).Assembly.Location);
        var packageVersionDirectory = assemblyDirectory is null ? null : Directory.GetParent(assemblyDirectory)?.Parent;
        var packagesDirectory = packageVersionDirectory?.Parent?.Parent;
        if (packageVersionDirectory is null || packagesDirectory is null)
        {
            return null;
        }
        var libTorchSharp = Path.Combine(packageVersionDirectory.FullName, NativeSubdirectory, "libLibTorchSharp.so");
        var libtorchRoot = Path.Combine(packagesDirectory.FullName, "libtorch-cpu-linux-x64");
        var libtorchNative = Directory.Exists(libtorchRoot)
            ? Directory.EnumerateDirectories(libtorchRoot)
                .OrderByDescending(directory => Version.TryParse(Path.GetFileName(directory), out var version) ? version : new Version())
                .Select(directory => Path.Combine(directory, NativeSubdirectory))
                .FirstOrDefault(native => File.Exists(Path.Combine(native, "libtorch_cpu.so")))
            : null;
        if (!File.Exists(libTorchSharp) || libtorchNative is null)
        {
            return null;
        }
        // In dependency order, so that each library's own needs are already loaded when it is.
        var dependencies = Directory.EnumerateFiles(libtorchNative, "libgomp*.so*")
            .Concat(new[] { "libc10.so", "libtorch_cpu.so", "libtorch.so" }.Select(name => Path.Combine(libtorchNative, name)))
            .Where(File.Exists)
            .ToList();
        return (libTorchSharp, packageVersionDirectory.Name, dependencies);
    }

    /// <summary>The patched copy in <c>$XDG_CACHE_HOME/ips/native/&lt;package version&gt;/</c>, written once, atomically.</summary>
    private static string PatchedCopy(string original, string version)
    {
        var cacheRoot = Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg
            ? xdg
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        var directory = Path.Combine(cacheRoot, "ips", "native", "torchsharp-" + version);
        var target = Path.Combine(directory, "libLibTorchSharp.so");
        if (File.Exists(target) && GlibcxxWeakFix.Inspect(File.ReadAllBytes(target), target) != GlibcxxNeedState.Strong)
        {
            return target;
        }
        Directory.CreateDirectory(directory);
        var bytes = File.ReadAllBytes(original);
        GlibcxxWeakFix.Patch(bytes, original);
        var temporary = Path.Combine(directory, $".libLibTorchSharp.{Environment.ProcessId}.tmp");
        File.WriteAllBytes(temporary, bytes);
        File.Move(temporary, target, overwrite: true);
        return target;
    }
}
