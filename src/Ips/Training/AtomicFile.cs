namespace Ips.Training;

/// <summary>
/// Replaces a file all at once, so that a crash or a failing writer never leaves a half-written checkpoint or plot:
/// the content goes to a temporary file in the same directory (same file system, so the final rename is atomic),
/// which is flushed to disk and then moved over the target.
/// </summary>
public static class AtomicFile
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
        var temp = Path.Combine(directory,
            $".{Path.GetFileNameWithoutExtension(full)}.{Guid.NewGuid():N}.tmp{Path.GetExtension(full)}");
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
        }
        catch
        {
            if (File.Exists(temp)) File.Delete(temp);
            throw;
        }
    }
}
