using System.Globalization;

namespace Ips.IO;

/// <summary>A failure recorded by <see cref="FailureRecord"/>.</summary>
/// <param name="Message">The error, one line.</param>
/// <param name="Host">The host whose process failed.</param>
/// <param name="Recorded">When it was recorded (UTC): the record's modification time.</param>
public sealed record RecordedFailure(string Message, string Host, DateTime Recorded);

/// <summary>
/// The record of an output that could not be made, <c>NAME.failed</c> beside where <c>NAME.h5</c> would be: a small
/// text file whose first line is the error and whose second names the host. It lets a cohort's state be read from
/// its folder (<c>ips slides status</c>) and a rerun retry only what failed; making the output removes it.
/// </summary>
public static class FailureRecord
{
    /// <summary>The record of output <paramref name="name"/> in <paramref name="directory"/>: <c>NAME.failed</c>.</summary>
    public static string PathFor(string directory, string name) => Path.Combine(directory, name + ".failed");

    /// <summary>Records that output <paramref name="name"/> failed with <paramref name="message"/> (atomically, replacing an older record).</summary>
    public static void Write(string directory, string name, string message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var line = message.ReplaceLineEndings(" ");
        AtomicFile.Write(PathFor(directory, name), temp => File.WriteAllText(temp, string.Create(CultureInfo.InvariantCulture,
            $"{line}\nhost={Environment.MachineName} pid={Environment.ProcessId}\n")));
    }

    /// <summary>The recorded failure of output <paramref name="name"/>, or null when there is none.</summary>
    public static RecordedFailure? Read(string directory, string name)
    {
        var path = PathFor(directory, name);
        try
        {
            var lines = File.ReadAllLines(path);
            var recorded = File.GetLastWriteTimeUtc(path);
            var host = lines.Length > 1 && lines[1].StartsWith("host=", StringComparison.Ordinal) ? lines[1]["host=".Length..].Split(' ')[0] : "?";
            return new RecordedFailure(lines.Length > 0 ? lines[0] : "", host, recorded);
        }
        catch (Exception error) when (error is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    /// <summary>Removes the record of output <paramref name="name"/>, once the output has been made.</summary>
    public static void Clear(string directory, string name) => File.Delete(PathFor(directory, name));
}

/// <summary>
/// Which recorded failures (<see cref="FailureRecord"/>) a run tries again: with <paramref name="Retry"/>, those recorded
/// before the run started, so that a rerun retries them while the tasks of one array job do not each retry a slide
/// that another task of the same job has just failed; without it, none.
/// </summary>
/// <param name="Retry">Whether failures of earlier runs are tried again (<c>--retry-failed</c>, the default).</param>
/// <param name="RunStarted">When this run started (UTC); failures recorded since are never retried by it.</param>
public sealed record FailureRetry(bool Retry, DateTime RunStarted)
{
    /// <summary>Why <paramref name="failure"/> is not tried again by this run, or null when it is.</summary>
    public string? WhyNotRetried(RecordedFailure failure)
    {
        ArgumentNullException.ThrowIfNull(failure);
        if (failure.Recorded >= RunStarted)
        {
            return $"failed in another process of this run (on {failure.Host}): {failure.Message}";
        }
        return Retry ? null : string.Create(CultureInfo.InvariantCulture,
            $"failed in an earlier run ({failure.Recorded:yyyy-MM-dd HH:mm:ss} UTC on {failure.Host}), not retried with --skip-failed: {failure.Message}");
    }
}
