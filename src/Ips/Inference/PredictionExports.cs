using Ips.Slides.Annotations;
using Ips.Slides.Exports;

namespace Ips.Inference;

/// <summary>A prediction's selected patches in the formats pathologists' viewers read.</summary>
public static class PredictionExports
{
    /// <summary>The class name and colour (the outline colour of the attention pictures) of selected patches in QuPath.</summary>
    public const string SelectedClass = "IPS selected";

    /// <summary>
    /// Writes the selected patches of <paramref name="prediction"/> into <paramref name="directory"/> as QuPath
    /// annotations (<c>NAME.geojson</c>, boxes in the input's pixels: level 0 for a slide) with their attention, rank
    /// (1 for the highest attention) and, where annotations were given, tumour fraction. Returns the file's path; null
    /// for a prediction without boxes (a feature matrix), for which nothing is written.
    /// </summary>
    public static string? WriteGeoJson(Prediction prediction, string directory)
    {
        ArgumentNullException.ThrowIfNull(prediction);
        if (prediction.Selected.Count == 0 || prediction.Selected.Any(p => p.Box is null))
        {
            return null;
        }
        var colour = AttentionMap.OutlineColor;
        var ranks = Ranks(prediction.Selected);
        var objects = prediction.Selected.Select((patch, i) =>
        {
            (string, double)[] measurements = patch.TumourFraction is { } tumour
                ? [("attention", patch.Score), ("rank", ranks[i]), ("tumour fraction", tumour)]
                : [("attention", patch.Score), ("rank", ranks[i])];
            return new TileObject(patch.Box!.Value, QuPathGeoJson.Annotation, SelectedClass, (colour.Red, colour.Green, colour.Blue), measurements)
            {
                Name = $"rank {ranks[i]}",
            };
        });
        string path = QuPathGeoJson.PathFor(directory, prediction.Input);
        QuPathGeoJson.Write(path, objects);
        return path;
    }

    /// <summary>The ASAP annotation group of selected patches.</summary>
    public const string AsapGroup = "IPS selected";

    /// <summary>
    /// Writes the selected patches of <paramref name="prediction"/> into <paramref name="directory"/> as ASAP XML
    /// (<c>NAME.xml</c>, the name ASAP's file dialog pairs with <c>NAME.tif</c>): one square per patch in level-0
    /// pixels, in group <see cref="AsapGroup"/>, named <c>rank R attention A</c>. Returns the file's path; null for a
    /// prediction without boxes.
    /// </summary>
    public static string? WriteAsap(Prediction prediction, string directory)
    {
        ArgumentNullException.ThrowIfNull(prediction);
        if (prediction.Selected.Count == 0 || prediction.Selected.Any(p => p.Box is null))
        {
            return null;
        }
        var ranks = Ranks(prediction.Selected);
        var squares = prediction.Selected.Select((patch, i) =>
        {
            var (x, y, w, h) = patch.Box!.Value;
            return new AnnotationPolygon(
                string.Create(System.Globalization.CultureInfo.InvariantCulture, $"rank {ranks[i]} attention {patch.Score:G6}"),
                [x, x + w, x + w, x], [y, y, y + h, y + h]);
        });
        Directory.CreateDirectory(directory);
        string path = Path.Combine(directory, Path.GetFileNameWithoutExtension(prediction.Input) + ".xml");
        AsapAnnotations.Write(path, squares, AsapGroup, "#ff00ff");
        return path;
    }

    /// <summary>The rank of each patch by attention: 1 for the highest; ties ranked by patch index.</summary>
    public static int[] Ranks(IReadOnlyList<SelectedPatch> selected)
    {
        ArgumentNullException.ThrowIfNull(selected);
        var ranks = new int[selected.Count];
        var order = Enumerable.Range(0, selected.Count).OrderByDescending(i => selected[i].Score).ThenBy(i => selected[i].Index).ToList();
        for (int r = 0; r < order.Count; r++)
        {
            ranks[order[r]] = r + 1;
        }
        return ranks;
    }
}
