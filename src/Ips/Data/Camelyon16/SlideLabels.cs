using System.Globalization;
using System.Text;
using Ips.IO;

namespace Ips.Data.Camelyon16;

/// <summary>One row of a labels CSV: a slide, its label (1 tumour, 0 normal) and its split when the file says.</summary>
/// <param name="SlideId">The slide's name without extension (<c>tumor_001</c>), as its feature file is named.</param>
/// <param name="Label">1 for metastases, 0 for none.</param>
/// <param name="Split"><c>train</c> or <c>test</c>, or null when the CSV has no <c>split</c> column.</param>
public sealed record SlideLabel(string SlideId, int Label, string? Split);

/// <summary>
/// Slide labels in the CLAM convention: a CSV with the header <c>slide_id,label</c> (here with an optional third
/// column <c>split</c>). Labels may be written 0/1 or as words (<c>normal</c>/<c>tumor</c>, <c>negative</c>/<c>positive</c>).
/// Also builds the CAMELYON16 labels: training slides are named <c>normal_*</c>/<c>tumor_*</c>, test slides
/// <c>test_*</c> take their label from the challenge's <c>reference.csv</c> (<c>test_001,Tumor,Macro,...</c>).
/// </summary>
public static class SlideLabels
{
    /// <summary>The split of slides whose CSV row names none: CAMELYON16's test slides are named <c>test_*</c>.</summary>
    public static string SplitOf(SlideLabel label)
    {
        ArgumentNullException.ThrowIfNull(label);
        return label.Split ?? (label.SlideId.StartsWith("test_", StringComparison.OrdinalIgnoreCase) ? "test" : "train");
    }

    /// <summary>Reads a labels CSV; <see cref="InvalidDataException"/> naming file and line on a malformed row.</summary>
    public static IReadOnlyList<SlideLabel> Read(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{path}: labels CSV not found (expected columns slide_id,label[,split]; `ips data camelyon16 labels DIR` writes one)", path);
        }
        var lines = File.ReadAllLines(path);
        if (lines.Length == 0)
        {
            throw new InvalidDataException($"{path}: labels CSV is empty; expected a header slide_id,label[,split]");
        }
        var header = Cells(lines[0]).Select(h => h.ToLowerInvariant()).ToList();
        int idColumn = header.IndexOf("slide_id"), labelColumn = header.IndexOf("label"), splitColumn = header.IndexOf("split");
        if (idColumn < 0 || labelColumn < 0)
        {
            throw new InvalidDataException($"{path}: header '{lines[0]}' lacks slide_id and label columns (CLAM convention: slide_id,label[,split])");
        }
        var result = new List<SlideLabel>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 1; i < lines.Length; i++)
        {
            if (lines[i].Trim().Length == 0)
            {
                continue;
            }
            var cells = Cells(lines[i]);
            var at = $"{path}, line {i + 1}";
            if (cells.Count <= Math.Max(idColumn, Math.Max(labelColumn, splitColumn)))
            {
                throw new InvalidDataException($"{at}: '{lines[i]}' has {cells.Count} cells; the header has {header.Count}");
            }
            var id = cells[idColumn];
            if (id.Length == 0 || !seen.Add(id))
            {
                throw new InvalidDataException($"{at}: slide_id '{id}' is {(id.Length == 0 ? "empty" : "listed twice")}");
            }
            var split = splitColumn < 0 ? null : cells[splitColumn].ToLowerInvariant();
            if (split is not (null or "train" or "test"))
            {
                throw new InvalidDataException($"{at}: split '{cells[splitColumn]}' must be train or test");
            }
            result.Add(new SlideLabel(id, ParseLabel(cells[labelColumn], at), split));
        }
        return result;
    }

    /// <summary>Writes <paramref name="labels"/> as <c>slide_id,label,split</c> atomically.</summary>
    public static void Write(string path, IEnumerable<SlideLabel> labels)
    {
        var text = new StringBuilder("slide_id,label,split\n");
        foreach (var label in labels)
        {
            text.Append(CultureInfo.InvariantCulture, $"{label.SlideId},{label.Label},{SplitOf(label)}\n");
        }
        AtomicFile.Write(path, temporary => File.WriteAllText(temporary, text.ToString()));
    }

    /// <summary>
    /// The CAMELYON16 labels of the slides found under <paramref name="directory"/> (slide files <c>.tif</c>/<c>.tiff</c>
    /// or feature files <c>.h5</c>, searched recursively): <c>normal_*</c> 0, <c>tumor_*</c> 1, <c>test_*</c> from
    /// <paramref name="referenceCsv"/> (default: a <c>reference.csv</c> found under the directory).
    /// </summary>
    /// <exception cref="InvalidDataException">A test slide is missing from the reference, or a name fits no rule.</exception>
    public static IReadOnlyList<SlideLabel> FromCamelyon16(string directory, string? referenceCsv = null)
    {
        if (!Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"{directory}: directory not found (expected the CAMELYON16 slides or their feature files)");
        }
        string[] extensions = [".tif", ".tiff", ".h5"];
        var ids = Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories)
            .Where(file => extensions.Contains(Path.GetExtension(file).ToLowerInvariant()))
            .Select(Path.GetFileNameWithoutExtension)
            .OfType<string>()
            .Where(id => id.StartsWith("normal_", StringComparison.OrdinalIgnoreCase)
                         || id.StartsWith("tumor_", StringComparison.OrdinalIgnoreCase)
                         || id.StartsWith("test_", StringComparison.OrdinalIgnoreCase))
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal)
            .ToList();
        if (ids.Count == 0)
        {
            throw new InvalidDataException($"{directory}: no slide named normal_*, tumor_* or test_* (.tif, .tiff or .h5) was found");
        }
        Dictionary<string, int>? reference = null;
        if (ids.Any(id => id.StartsWith("test_", StringComparison.OrdinalIgnoreCase)))
        {
            referenceCsv ??= Directory.EnumerateFiles(directory, "reference.csv", SearchOption.AllDirectories).FirstOrDefault()
                ?? throw new FileNotFoundException($"{directory}: test slides were found but no reference.csv (the challenge's test labels); pass --reference FILE");
            reference = ReadReference(referenceCsv);
        }
        return ids.Select(id =>
        {
            if (id.StartsWith("test_", StringComparison.OrdinalIgnoreCase))
            {
                return reference!.TryGetValue(id, out var label)
                    ? new SlideLabel(id, label, "test")
                    : throw new InvalidDataException($"{referenceCsv}: test slide {id} has no row");
            }
            return new SlideLabel(id, id.StartsWith("tumor_", StringComparison.OrdinalIgnoreCase) ? 1 : 0, "train");
        }).ToList();
    }

    /// <summary>The challenge's <c>reference.csv</c>: rows <c>test_001,Tumor,Macro,...</c> or <c>test_002,Normal,,,</c>, no header.</summary>
    public static Dictionary<string, int> ReadReference(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{path}: reference CSV not found", path);
        }
        var result = new Dictionary<string, int>(StringComparer.Ordinal);
        var lines = File.ReadAllLines(path);
        for (var i = 0; i < lines.Length; i++)
        {
            var cells = Cells(lines[i]);
            if (cells.Count == 0 || cells[0].Length == 0 || (i == 0 && cells[0].Equals("image", StringComparison.OrdinalIgnoreCase)))
            {
                continue;
            }
            if (cells.Count < 2)
            {
                throw new InvalidDataException($"{path}, line {i + 1}: '{lines[i]}' has no class; expected test_001,Tumor,... or test_002,Normal,...");
            }
            result[Path.GetFileNameWithoutExtension(cells[0])] = ParseLabel(cells[1], $"{path}, line {i + 1}");
        }
        return result;
    }

    private static int ParseLabel(string text, string at) => text.Trim().ToLowerInvariant() switch
    {
        "1" or "tumor" or "tumour" or "tumor_tissue" or "positive" or "metastases" => 1,
        "0" or "normal" or "normal_tissue" or "negative" => 0,
        _ => throw new InvalidDataException($"{at}: label '{text}' must be 0/1, normal/tumor or negative/positive"),
    };

    private static List<string> Cells(string line) => [.. line.Split(',').Select(cell => cell.Trim().Trim('"'))];
}
