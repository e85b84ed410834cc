namespace Ips.Slides.Tiling;

/// <summary>
/// The order in which the tasks of an array job claim a cohort's slides (<c>--claim</c>): every task goes through the
/// whole cohort and takes each slide that is neither finished nor locked by another task (<see cref="IO.OutputLock"/>),
/// largest file first. The largest slides, which take longest, are then started first and the small ones fill in
/// behind them, so the tasks finish within about one large slide of each other, whereas a fixed split
/// (<see cref="SlideShard"/>) balances slide counts, not work.
/// </summary>
public static class SlideClaimOrder
{
    /// <summary>
    /// <paramref name="slides"/> by file size, largest first (a symbolic link counts as the file it points to); slides of
    /// equal size in ordinal order of their paths, so every task computes the same order.
    /// </summary>
    public static List<string> LargestFirst(IEnumerable<string> slides)
    {
        ArgumentNullException.ThrowIfNull(slides);
        return [.. slides
            .Select(path => (Path: path, Size: SizeOf(path)))
            .OrderByDescending(slide => slide.Size)
            .ThenBy(slide => slide.Path, StringComparer.Ordinal)
            .Select(slide => slide.Path)];
    }

    private static long SizeOf(string path)
    {
        var file = new FileInfo(path);
        return (file.ResolveLinkTarget(returnFinalTarget: true) as FileInfo ?? file).Length;
    }
}
