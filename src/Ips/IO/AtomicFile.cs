using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace Ips.IO;

/// <summary>
/// Replaces a file all at once, so that a crash or a failing writer never leaves a half-written checkpoint or plot:
/// the content goes to a temporary file in the same directory (same file system, so the final rename is atomic),
/// which is flushed to disk and then moved over the target.
/// </summary>
public static partial class AtomicFile
{
    /// <summary>Writes <paramref name="path"/> through <paramref name="writeToTempPath"/>, which receives the path
    /// of the temporary file to create. On failure the temporary file is removed, the old file (if any) is left as
    /// it was, and the writer's exception propagates.</summary>
    public static void Write(string path, Action<string> writeToTempPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(writeToTempPath);
        var full = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(directory);
        // The temporary name keeps the extension, for writers that choose the format by it (PNG, safetensors).
        var temp = Path.Combine(directory, TemporaryName(Path.GetFileNameWithoutExtension(full)) + Path.GetExtension(full));
        try
        {
            writeToTempPath(temp);
            if (!File.Exists(temp))
                throw new InvalidOperationException($"the writer for {path} did not create its temporary file {temp}");
            using (var stream = new FileStream(temp, FileMode.Open, FileAccess.ReadWrite, FileShare.None))
            {
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
            SyncDirectory(directory);
        }
        catch
        {
            if (File.Exists(temp)) File.Delete(temp);
            throw;
        }
    }

    /// <summary>Creates an empty hidden directory beside <paramref name="path"/> for staging the parts of a file
    /// written with <see cref="Write"/>; named like the temporary files, so <see cref="RemoveStaleTemporaries"/>
    /// removes it when a killed process left it behind. The caller deletes it.</summary>
    public static string CreateScratchDirectory(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var full = Path.GetFullPath(path);
        var directory = Path.Combine(Path.GetDirectoryName(full)!, TemporaryName(Path.GetFileName(full)));
        Directory.CreateDirectory(directory);
        return directory;
    }

    /// <summary>
    /// Deletes the temporary files and scratch directories that writes in <paramref name="directory"/> left behind
    /// when their process was killed. Only safe while no other process writes there (a locked run directory).
    /// </summary>
    /// <returns>How many were removed.</returns>
    public static int RemoveStaleTemporaries(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (!Directory.Exists(directory)) return 0;
        var removed = 0;
        foreach (var entry in new DirectoryInfo(directory).EnumerateFileSystemInfos(".*.tmp*"))
        {
            if (!TemporaryPattern().IsMatch(entry.Name)) continue;
            if (entry is DirectoryInfo scratch) scratch.Delete(recursive: true);
            else entry.Delete();
            removed++;
        }
        return removed;
    }

    private static string TemporaryName(string name) => $".{name}.{Guid.NewGuid():N}.tmp";

    [GeneratedRegex(@"^\..+\.[0-9a-f]{32}\.tmp(\.[^.]*)?$")]
    private static partial Regex TemporaryPattern();

    /// <summary>
    /// Makes the rename itself durable: on Linux a rename reaches the disk only when its directory is synced, so
    /// without this a power cut shortly after a save could bring back the previous checkpoint or no file at all.
    /// </summary>
    private static void SyncDirectory(string directory)
    {
        if (OperatingSystem.IsWindows()) return;
        var fd = Open(directory, 0 /* O_RDONLY */);
        if (fd < 0) return;
        try
        {
            // A file system that cannot sync a directory (some network ones) still has the file itself synced.
            _ = Fsync(fd);
        }
        finally
        {
            _ = Close(fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync")]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}
