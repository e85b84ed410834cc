namespace Ips.Training;

/// <summary>Reads the process's resident memory from /proc (Linux), which, unlike the GC's figures, includes libtorch's native allocations.</summary>
public static class ProcessMemory
{
    /// <summary>Peak resident set size (VmHWM) in bytes, or the current working set where /proc is unavailable.</summary>
    public static long PeakResidentBytes() => ReadStatusKb("VmHWM:") is { } kb ? kb * 1024 : Environment.WorkingSet;

    /// <summary>Current resident set size (VmRSS) in bytes.</summary>
    public static long CurrentResidentBytes() => ReadStatusKb("VmRSS:") is { } kb ? kb * 1024 : Environment.WorkingSet;

    /// <summary>
    /// Resets the kernel's peak-RSS mark to the current RSS (writes 5 to /proc/self/clear_refs), so a later
    /// <see cref="PeakResidentBytes"/> measures one phase. Returns false where that is not permitted.
    /// </summary>
    public static bool ResetPeak()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static long? ReadStatusKb(string field)
    {
        const string status = "/proc/self/status";
        if (!File.Exists(status))
        {
            return null;
        }
        foreach (var line in File.ReadLines(status))
        {
            if (line.StartsWith(field, StringComparison.Ordinal))
            {
                var parts = line[field.Length..].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
                return long.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture);
            }
        }
        return null;
    }
}
