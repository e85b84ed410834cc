using System.Globalization;

namespace Ips.Data.Traffic;

/// <summary>
/// One annotated sign of the STS data set. The annotation writes its box as <c>x2, y2, x1, y1</c>: the lower-right
/// corner first (<see cref="XMax"/>, <see cref="YMax"/>), then the upper-left one.
/// </summary>
/// <param name="Visibility"><c>VISIBLE</c>, <c>BLURRED</c>, <c>SIDE_ROAD</c> or <c>OCCLUDED</c>.</param>
/// <param name="XMax">x2.</param>
/// <param name="YMax">y2.</param>
/// <param name="XMin">x1.</param>
/// <param name="YMin">y1.</param>
/// <param name="Type">The sign's type, e.g. <c>PROHIBITORY</c>.</param>
/// <param name="Name">The sign's name, e.g. <c>70_SIGN</c>.</param>
public sealed record StsSign(string Visibility, double XMax, double YMax, double XMin, double YMin, string Type, string Name)
{
    /// <summary>The visibilities from best to worst; a sign's rank is its position here.</summary>
    public static readonly IReadOnlyList<string> Visibilities = ["VISIBLE", "BLURRED", "SIDE_ROAD", "OCCLUDED"];

    /// <summary>Rank of <see cref="Visibility"/> in <see cref="Visibilities"/> (0 is best).</summary>
    public int VisibilityRank => Visibilities.ToList().IndexOf(Visibility);

    /// <summary>Box area in pixels: (x2 - x1) (y2 - y1).</summary>
    public double Area => (XMax - XMin) * (YMax - YMin);
}

/// <summary>One line of an STS <c>annotations.txt</c>: an image file and its signs (<c>MISC_SIGNS</c> left out).</summary>
/// <param name="File">Image file name, relative to the set's folder.</param>
/// <param name="Signs">Its signs in the order written.</param>
public sealed record StsEntry(string File, IReadOnlyList<StsSign> Signs);

/// <summary>
/// Reads an STS <c>annotations.txt</c>: lines <c>file.jpg:sign;sign;...</c> where a sign is
/// <c>VISIBILITY, x2, y2, x1, y1, TYPE, NAME</c>. Entries <c>MISC_SIGNS</c> are skipped, as are empty lines and empty
/// signs (a trailing <c>;</c>). A coordinate with trailing junk is read up to its longest numeric prefix, as the
/// official reader does (the published files have such values).
/// </summary>
public static class StsAnnotations
{
    /// <summary>The entries of the annotation file at <paramref name="path"/>, in file order.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">A line is malformed; the message names the file and line.</exception>
    public static IReadOnlyList<StsEntry> Read(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{path}: annotation file not found", path);
        }
        var entries = new List<StsEntry>();
        var number = 0;
        foreach (var raw in File.ReadLines(path))
        {
            number++;
            var line = raw.Trim();
            if (line.Length == 0)
            {
                continue;
            }
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                throw Bad(path, number, "expected 'file.jpg:sign;sign;...'");
            }
            var signs = new List<StsSign>();
            foreach (var text in line[(colon + 1)..].Split(';'))
            {
                if (string.IsNullOrWhiteSpace(text))
                {
                    continue;
                }
                var parts = text.Split(',').Select(part => part.Trim()).ToArray();
                if (parts[0] == "MISC_SIGNS")
                {
                    continue;
                }
                if (parts.Length != 7)
                {
                    throw Bad(path, number, $"sign '{text.Trim()}' has {parts.Length} fields; expected VISIBILITY, x2, y2, x1, y1, TYPE, NAME");
                }
                if (!StsSign.Visibilities.Contains(parts[0]))
                {
                    throw Bad(path, number, $"visibility '{parts[0]}' is not one of {string.Join(", ", StsSign.Visibilities)}");
                }
                var box = parts[1..5].Select(part => Coordinate(part, path, number)).ToArray();
                signs.Add(new StsSign(parts[0], box[0], box[1], box[2], box[3], parts[5], parts[6]));
            }
            entries.Add(new StsEntry(line[..colon].Trim(), signs));
        }
        return entries;
    }

    private static double Coordinate(string text, string path, int line)
    {
        for (var length = text.Length; length > 0; length--)
        {
            if (double.TryParse(text.AsSpan(0, length), NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            {
                return value;
            }
        }
        throw Bad(path, line, $"coordinate '{text}' is not a number");
    }

    private static InvalidDataException Bad(string path, int line, string message) =>
        new($"{path}, line {line.ToString(CultureInfo.InvariantCulture)}: {message}.");
}
