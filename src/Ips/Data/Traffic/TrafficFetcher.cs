using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.IO.Compression;

namespace Ips.Data.Traffic;

/// <summary>Progress of one file's download: bytes received so far and the total when the server said it.</summary>
/// <param name="File">The file's path relative to the data set, e.g. <c>Set1/Set1Part0.zip</c>.</param>
/// <param name="Received">Bytes on disk so far, resumed bytes included.</param>
/// <param name="Total">The file's size, when known.</param>
public readonly record struct DownloadProgress(string File, long Received, long? Total);

/// <summary>
/// Makes the Swedish traffic signs data set (STS, the paper's <c>Set1</c> and <c>Set2</c>) available in a folder, as
/// the official code does: the two image archives and the two annotation files from the data set's home, the
/// annotation files checked against the official md5, the archives extracted. Downloads go to a sibling
/// <c>.partial</c> folder, resume where a dropped connection or an earlier run stopped (HTTP Range), and the folder
/// takes its final place by a rename once everything is there and checked.
/// </summary>
public static class TrafficFetcher
{
    /// <summary>The data set's home at Linköping University, as in the official code.</summary>
    public const string DefaultBaseUrl = "http://www.isy.liu.se/cvl/research/trafficSigns/swedishSignsSummer";

    /// <summary>The four files, relative to the base URL and to the data set folder.</summary>
    public static readonly IReadOnlyList<string> Files =
        ["Set1/Set1Part0.zip", "Set1/annotations.txt", "Set2/Set2Part0.zip", "Set2/annotations.txt"];

    /// <summary>The official md5 of the annotation files (the official code checks only these).</summary>
    public static readonly IReadOnlyDictionary<string, string> OfficialMd5 = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["Set1/annotations.txt"] = "9106a905a86209c95dc9b51d12f520d6",
        ["Set2/annotations.txt"] = "09debbc67f6cd89c1e2a2688ad1d03ca",
    };

    private const int Attempts = 5;

    /// <summary>
    /// The md5 sums to check: the official ones when <paramref name="baseUrl"/> is the official base, plus or replaced
    /// by <paramref name="given"/>; none when <paramref name="verify"/> is false.
    /// </summary>
    public static IReadOnlyDictionary<string, string> ChecksumsFor(string baseUrl, IReadOnlyDictionary<string, string> given, bool verify)
    {
        ArgumentNullException.ThrowIfNull(given);
        var sums = new Dictionary<string, string>(StringComparer.Ordinal);
        if (!verify)
        {
            return sums;
        }
        if (baseUrl.TrimEnd('/') == DefaultBaseUrl)
        {
            foreach (var (file, md5) in OfficialMd5)
            {
                sums[file] = md5;
            }
        }
        foreach (var (file, md5) in given)
        {
            if (!Files.Contains(file))
            {
                throw new ArgumentException($"--md5 {file}={md5}: unknown file; expected one of {string.Join(", ", Files)}.");
            }
            if (md5.Length != 32 || !md5.All(Uri.IsHexDigit))
            {
                throw new ArgumentException($"--md5 {file}={md5}: an md5 sum is 32 hexadecimal digits.");
            }
            sums[file] = md5.ToLowerInvariant();
        }
        return sums;
    }

    /// <summary>
    /// True when <paramref name="directory"/> already holds the data set: both annotation files (matching
    /// <paramref name="md5"/>) and every image they name, extracted. Archives found there are extracted first.
    /// </summary>
    /// <exception cref="InvalidDataException">An annotation file fails its checksum, or images are missing.</exception>
    public static bool IsComplete(string directory, IReadOnlyDictionary<string, string> md5)
    {
        ArgumentNullException.ThrowIfNull(md5);
        if (!File.Exists(Path.Combine(directory, "Set1", "annotations.txt")) || !File.Exists(Path.Combine(directory, "Set2", "annotations.txt")))
        {
            return false;
        }
        foreach (var (file, sum) in md5)
        {
            CheckMd5(Path.Combine(directory, file), file, sum);
        }
        foreach (var set in new[] { "Set1", "Set2" })
        {
            var missing = MissingImages(directory, set);
            var archive = Path.Combine(directory, set, set + "Part0.zip");
            if (missing.Count > 0 && File.Exists(archive))
            {
                ZipFile.ExtractToDirectory(archive, Path.Combine(directory, set), overwriteFiles: true);
                missing = MissingImages(directory, set);
            }
            if (missing.Count > 0)
            {
                throw new InvalidDataException(
                    $"{Path.Combine(directory, set)}: {missing.Count} image(s) named in annotations.txt are missing (first: {missing[0]}); " +
                    $"put {set}Part0.zip or its extracted images there, or fetch the data set again into an empty folder.");
            }
        }
        return true;
    }

    /// <summary>
    /// Ensures <paramref name="directory"/> holds the data set, downloading it from <paramref name="baseUrl"/> when it
    /// does not; returns true when something was downloaded.
    /// </summary>
    /// <exception cref="IOException">A download failed; the message names the URL.</exception>
    /// <exception cref="InvalidDataException">A checksum failed or an archive is broken; the message names the file.</exception>
    public static async Task<bool> EnsureAvailableAsync(
        string directory, string baseUrl, IReadOnlyDictionary<string, string> md5, HttpClient client,
        IProgress<DownloadProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        if (IsComplete(directory, md5))
        {
            return false;
        }
        var full = Path.GetFullPath(directory);
        if (Directory.Exists(full) && Directory.EnumerateFileSystemEntries(full).Any())
        {
            throw new IOException(
                $"{directory} exists and holds files but not a complete data set (Set1 and Set2 with annotations.txt and their images); " +
                "fetch into an empty or new folder (--dir), or complete it by hand.");
        }
        // The sibling staging folder keeps partial files between runs, so a later run resumes them.
        var staging = full.TrimEnd(Path.DirectorySeparatorChar) + ".partial";
        foreach (var file in Files)
        {
            var url = baseUrl.TrimEnd('/') + "/" + file;
            var target = Path.Combine(staging, file);
            if (!File.Exists(target))
            {
                await DownloadAsync(client, url, target, file, progress, cancellationToken).ConfigureAwait(false);
            }
            if (md5.TryGetValue(file, out var sum))
            {
                try
                {
                    CheckMd5(target, url, sum);
                }
                catch (InvalidDataException)
                {
                    File.Delete(target);
                    throw;
                }
            }
        }
        foreach (var set in new[] { "Set1", "Set2" })
        {
            var archive = Path.Combine(staging, set, set + "Part0.zip");
            try
            {
                ZipFile.ExtractToDirectory(archive, Path.Combine(staging, set), overwriteFiles: true);
            }
            catch (InvalidDataException error)
            {
                File.Delete(archive);
                throw new InvalidDataException($"{baseUrl.TrimEnd('/')}/{set}/{set}Part0.zip: not a readable zip archive ({error.Message}); it was removed, run again to download it anew.", error);
            }
            var missing = MissingImages(staging, set);
            if (missing.Count > 0)
            {
                throw new InvalidDataException(
                    $"{baseUrl.TrimEnd('/')}/{set}/{set}Part0.zip lacks {missing.Count} image(s) named in {set}/annotations.txt (first: {missing[0]}).");
            }
        }
        if (Directory.Exists(full))
        {
            Directory.Delete(full);
        }
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        Directory.Move(staging, full);
        return true;
    }

    /// <summary>Downloads <paramref name="url"/> to <paramref name="target"/> via <c>target.part</c>, resuming it by HTTP Range.</summary>
    internal static async Task DownloadAsync(
        HttpClient client, string url, string target, string name, IProgress<DownloadProgress>? progress, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        var part = target + ".part";
        Exception? last = null;
        for (var attempt = 0; attempt < Attempts; attempt++)
        {
            try
            {
                if (await TryDownloadAsync(client, url, part, name, progress, cancellationToken).ConfigureAwait(false))
                {
                    File.Move(part, target, overwrite: true);
                    return;
                }
            }
            catch (Exception error) when (error is HttpRequestException or IOException && !cancellationToken.IsCancellationRequested)
            {
                last = error;
                await Task.Delay(TimeSpan.FromMilliseconds(200 * (attempt + 1)), cancellationToken).ConfigureAwait(false);
            }
        }
        throw new IOException($"{url}: download failed after {Attempts} attempts ({last?.Message}); run again to resume it.", last);
    }

    /// <summary>One request: appends to <paramref name="part"/> from its current length; true when the file is whole.</summary>
    private static async Task<bool> TryDownloadAsync(
        HttpClient client, string url, string part, string name, IProgress<DownloadProgress>? progress, CancellationToken cancellationToken)
    {
        var have = File.Exists(part) ? new FileInfo(part).Length : 0;
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (have > 0)
        {
            request.Headers.Range = new RangeHeaderValue(have, null);
        }
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable && have > 0)
        {
            // The partial file already holds everything the server has.
            return true;
        }
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidDataException($"{url}: the server answered {(int)response.StatusCode} {response.ReasonPhrase}.");
        }
        var resumed = response.StatusCode == HttpStatusCode.PartialContent;
        if (!resumed)
        {
            have = 0; // The server ignored the range: start over.
        }
        long? total = response.Content.Headers.ContentLength is { } length ? length + have : null;
        await using (var output = new FileStream(part, resumed ? FileMode.Append : FileMode.Create, FileAccess.Write))
        await using (var input = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false))
        {
            var buffer = new byte[1 << 16];
            progress?.Report(new DownloadProgress(name, have, total));
            int read;
            while ((read = await input.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            {
                await output.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                have += read;
                progress?.Report(new DownloadProgress(name, have, total));
            }
        }
        if (total is { } expected && have < expected)
        {
            throw new IOException($"{url}: the connection closed after {have} of {expected} bytes");
        }
        return true;
    }

    private static void CheckMd5(string path, string name, string expected)
    {
        string actual;
        using (var stream = File.OpenRead(path))
        {
            actual = Convert.ToHexStringLower(MD5.HashData(stream));
        }
        if (!string.Equals(actual, expected, StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidDataException(
                $"{name}: md5 {actual} does not match the expected {expected}; the file is damaged or not the official one " +
                "(give its md5 with --md5 FILE=HASH, or --no-verify to skip the check).");
        }
    }

    private static List<string> MissingImages(string directory, string set)
    {
        var annotations = Path.Combine(directory, set, "annotations.txt");
        return StsAnnotations.Read(annotations)
            .Select(entry => entry.File)
            .Where(file => !File.Exists(Path.Combine(directory, set, file)))
            .ToList();
    }
}
