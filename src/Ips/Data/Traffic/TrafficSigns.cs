using System.Globalization;

namespace Ips.Data.Traffic;

/// <summary>
/// The traffic-sign task of the paper on the STS data set: which speed limit (if any) a photo shows, with the
/// official filtering and choice of sets.
/// </summary>
public static class TrafficSigns
{
    /// <summary>The speed-limit sign names.</summary>
    public static readonly IReadOnlyList<string> Limits = ["50_SIGN", "70_SIGN", "80_SIGN"];

    /// <summary>The classes, by label: <c>EMPTY</c> (no sign at all), then the speed limits.</summary>
    public static readonly IReadOnlyList<string> Classes = ["EMPTY", .. Limits];

    /// <summary>
    /// The set a split reads, as the official code chooses it: <c>Set{1 + (seed + 1 + train) mod 2}</c>, so seed 0
    /// trains on Set1 and tests on Set2, and an odd seed swaps them.
    /// </summary>
    public static string SetFor(int seed, bool train)
    {
        var index = ((seed + 1 + (train ? 1 : 0)) % 2 + 2) % 2;
        return "Set" + (1 + index).ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// The kept images and their labels: an image without signs is <c>EMPTY</c>; otherwise its speed-limit signs,
    /// ordered by visibility (<see cref="StsSign.Visibilities"/>) and then by larger area, decide: the image is kept
    /// with the first one's class when that sign is <c>VISIBLE</c>, and dropped when it is not or when the image has
    /// only other signs.
    /// </summary>
    public static IReadOnlyList<(string File, int Label)> Filter(IEnumerable<StsEntry> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var kept = new List<(string, int)>();
        foreach (var entry in entries)
        {
            if (entry.Signs.Count == 0)
            {
                kept.Add((entry.File, 0));
                continue;
            }
            var best = entry.Signs
                .Where(sign => Limits.Contains(sign.Name))
                .OrderBy(sign => sign.VisibilityRank)
                .ThenByDescending(sign => sign.Area)
                .FirstOrDefault();
            if (best is { Visibility: "VISIBLE" })
            {
                kept.Add((entry.File, Classes.ToList().IndexOf(best.Name)));
            }
        }
        return kept;
    }

    /// <summary>True when <paramref name="directory"/> looks like an STS data set (a set folder with its annotations).</summary>
    public static bool Holds(string directory) =>
        File.Exists(Path.Combine(directory, "Set1", "annotations.txt")) || File.Exists(Path.Combine(directory, "Set2", "annotations.txt"));
}
