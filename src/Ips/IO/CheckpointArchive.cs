using System.IO.Compression;

namespace Ips.IO;

/// <summary>
/// The container of every checkpoint kind (IPS training, BYOL pre-training): one zip whose entries are state_dict
/// files (stored, since weights do not compress) and small text entries (JSON counters, YAML config). Written through
/// a scratch directory and <see cref="AtomicFile"/>, so a crash never leaves a half-written checkpoint in place of a
/// good one; read by extracting the wanted entries into a scratch directory that is removed afterwards.
/// </summary>
internal static class CheckpointArchive
{
    /// <summary>
    /// Writes <paramref name="path"/> atomically: <paramref name="writeFiles"/> fills a scratch directory whose files
    /// become entries under their names, then <paramref name="texts"/> are added as text entries.
    /// </summary>
    public static void Write(string path, Action<string> writeFiles, IReadOnlyList<(string Name, string Text)> texts)
    {
        // The parts are staged next to the checkpoint, not in /tmp, so that a killed save leaves nothing behind that
        // the next run in the directory does not clean up (AtomicFile.RemoveStaleTemporaries).
        var scratch = AtomicFile.CreateScratchDirectory(path);
        try
        {
            writeFiles(scratch);
            AtomicFile.Write(path, temporary =>
            {
                using var zip = ZipFile.Open(temporary, ZipArchiveMode.Create);
                foreach (var file in Directory.GetFiles(scratch).Order(StringComparer.Ordinal))
                {
                    zip.CreateEntryFromFile(file, Path.GetFileName(file), CompressionLevel.NoCompression);
                }
                foreach (var (name, text) in texts)
                {
                    using var writer = new StreamWriter(zip.CreateEntry(name, CompressionLevel.Optimal).Open());
                    writer.Write(text);
                }
            });
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }

    /// <summary>
    /// Extracts the entries <paramref name="files"/> of the checkpoint at <paramref name="path"/> into a scratch
    /// directory and hands the open archive and that directory to <paramref name="read"/>.
    /// </summary>
    /// <param name="path">The checkpoint.</param>
    /// <param name="kind">What the file should be, for messages (e.g. "an IPS training checkpoint (a zip with model.pt, ...)").</param>
    /// <param name="files">Entries to extract; a missing one is an <see cref="InvalidDataException"/> naming the file.</param>
    /// <param name="read">Reads the extracted files (in the scratch directory, under their entry names).</param>
    public static T Read<T>(string path, string kind, IEnumerable<string> files, Func<ZipArchive, string, T> read)
    {
        var scratch = Directory.CreateTempSubdirectory("ips-ckpt-").FullName;
        try
        {
            using var zip = Open(path, kind);
            foreach (var name in files)
            {
                var entry = Entry(zip, path, name);
                Reading(path, name, () => { entry.ExtractToFile(Path.Combine(scratch, name)); return true; });
            }
            return read(zip, scratch);
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }

    /// <summary>Opens the checkpoint for reading; a missing file or a non-zip is an error naming the file and <paramref name="kind"/>.</summary>
    public static ZipArchive Open(string path, string kind)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"checkpoint {path} does not exist.", path);
        }
        ZipArchive? zip = null;
        try
        {
            zip = ZipFile.OpenRead(path);
            // The central directory is read on first use; reading it here makes a cut file fail here, with its name.
            _ = zip.Entries.Count;
            return zip;
        }
        catch (InvalidDataException error)
        {
            zip?.Dispose();
            throw new InvalidDataException($"{path}: the checkpoint is damaged or truncated: expected {kind}, and this file is not a readable zip ({error.Message})", error);
        }
    }

    /// <summary>The entry <paramref name="name"/>; its absence is an error naming the file.</summary>
    public static ZipArchiveEntry Entry(ZipArchive zip, string path, string name) =>
        zip.GetEntry(name) ?? throw new InvalidDataException($"{path}: checkpoint has no {name}.");

    /// <summary>Entry <paramref name="name"/> opened for reading; a damaged local header is refused naming the
    /// checkpoint and the entry (found by fuzzing the BYOL checkpoint).</summary>
    public static Stream OpenEntry(ZipArchive zip, string path, string name)
    {
        var entry = Entry(zip, path, name);
        return Reading(path, name, entry.Open);
    }

    /// <summary>The text of entry <paramref name="name"/>.</summary>
    public static string ReadText(ZipArchive zip, string path, string name)
    {
        var entry = Entry(zip, path, name);
        // Text entries (state, config) are a few KB; the size is checked before reading, as reading allocates it.
        if (entry.Length > MaxTextBytes)
        {
            throw new InvalidDataException($"{path}: checkpoint entry {name} claims {entry.Length} bytes; a text entry holds at most {MaxTextBytes}");
        }
        return Reading(path, name, () =>
        {
            using var reader = new StreamReader(entry.Open());
            return reader.ReadToEnd();
        });
    }

    /// <summary>The largest text entry (<c>state.json</c>, <c>config.yml</c>) read: 16 MiB.</summary>
    public const long MaxTextBytes = 16L * 1024 * 1024;

    // Decompressing a damaged entry throws the zip library's bare InvalidDataException ("unsupported compression
    // method", "block type"), which names neither the checkpoint nor the entry.
    private static T Reading<T>(string path, string name, Func<T> read)
    {
        try
        {
            return read();
        }
        catch (InvalidDataException error)
        {
            throw new InvalidDataException($"{path}: checkpoint entry {name} is damaged: {error.Message}", error);
        }
    }

    /// <summary>Copies entry <paramref name="name"/> to <paramref name="destination"/> atomically.</summary>
    public static void ExtractTo(string path, string kind, string name, string destination)
    {
        using var zip = Open(path, kind);
        var entry = Entry(zip, path, name);
        Reading(path, name, () =>
        {
            AtomicFile.Write(destination, temporary => entry.ExtractToFile(temporary, overwrite: true));
            return true;
        });
    }

    /// <summary>True when <paramref name="path"/> is a zip holding every entry in <paramref name="names"/>.</summary>
    public static bool Holds(string path, params string[] names)
    {
        try
        {
            using var zip = ZipFile.OpenRead(path);
            return names.All(name => zip.GetEntry(name) is not null);
        }
        catch (InvalidDataException)
        {
            return false;
        }
    }
}
