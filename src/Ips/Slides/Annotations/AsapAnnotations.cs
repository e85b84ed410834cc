using System.Globalization;
using System.Xml;
using System.Xml.Linq;
using Ips.IO;

namespace Ips.Slides.Annotations;

/// <summary>A closed polygon in level-0 pixel coordinates, vertices in drawing order.</summary>
/// <param name="Name">The annotation's name in its file.</param>
/// <param name="X">Vertex x coordinates.</param>
/// <param name="Y">Vertex y coordinates.</param>
public sealed record AnnotationPolygon(string Name, double[] X, double[] Y);

/// <summary>
/// Lesion annotations in ASAP's XML format, the format of the CAMELYON16 lesion annotations: <c>Annotation</c>
/// elements with a <c>PartOfGroup</c> and <c>Coordinate</c> elements (<c>Order</c>, <c>X</c>, <c>Y</c> in level-0
/// pixels). Groups <c>Tumor</c>, <c>_0</c> and <c>_1</c> outline tumour; <c>_2</c> outlines non-tumour areas inside
/// tumour, which are excluded from it.
/// </summary>
public static class AsapAnnotations
{
    /// <summary>The groups whose polygons are tumour.</summary>
    public static readonly IReadOnlySet<string> TumourGroups = new HashSet<string>(StringComparer.Ordinal) { "Tumor", "_0", "_1" };

    /// <summary>The group whose polygons are excluded from the tumour around them.</summary>
    public const string ExclusionGroup = "_2";

    /// <summary>
    /// Reads <paramref name="path"/>. Throws <see cref="FileNotFoundException"/> when it is missing and
    /// <see cref="InvalidDataException"/> naming the file and the element when it is not well-formed ASAP XML.
    /// </summary>
    public static TumourRegions Read(string path)
    {
        var tumour = new List<AnnotationPolygon>();
        var exclusions = new List<AnnotationPolygon>();
        foreach (var (group, polygon) in ReadGroups(path))
        {
            if (TumourGroups.Contains(group))
            {
                tumour.Add(polygon);
            }
            else if (group == ExclusionGroup)
            {
                exclusions.Add(polygon);
            }
            else
            {
                throw new InvalidDataException(
                    $"{path}: annotation '{polygon.Name}' is in group '{group}'; expected Tumor, _0 or _1 (tumour) or _2 (non-tumour inside tumour)");
            }
        }
        return new TumourRegions(tumour, exclusions);
    }

    /// <summary>
    /// Every polygon of <paramref name="path"/> with its group (<c>PartOfGroup</c>), whatever the group: the lesion
    /// groups <see cref="Read"/> takes, or others such as the selected tiles <c>ips predict --asap</c> writes. Errors
    /// as <see cref="Read"/>.
    /// </summary>
    public static IReadOnlyList<(string Group, AnnotationPolygon Polygon)> ReadGroups(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{path}: annotation file not found", path);
        }
        XDocument document;
        try
        {
            document = XDocument.Load(path);
        }
        catch (XmlException error)
        {
            throw new InvalidDataException($"{path}: not well-formed XML ({error.Message})", error);
        }

        var polygons = new List<(string, AnnotationPolygon)>();
        int index = 0;
        foreach (var annotation in document.Descendants("Annotation"))
        {
            string name = (string?)annotation.Attribute("Name") ?? $"#{index}";
            string where = $"{path}: annotation '{name}'";
            string group = (string?)annotation.Attribute("PartOfGroup")
                ?? throw new InvalidDataException($"{where} has no PartOfGroup attribute");
            var points = annotation.Descendants("Coordinate")
                .Select(c => (Order: Number(c, "Order", where), X: Number(c, "X", where), Y: Number(c, "Y", where)))
                .OrderBy(p => p.Order)
                .ToList();
            if (points.Count < 3)
            {
                throw new InvalidDataException($"{where} has {points.Count} coordinates; a polygon needs at least 3");
            }
            polygons.Add((group, new AnnotationPolygon(name, [.. points.Select(p => p.X)], [.. points.Select(p => p.Y)])));
            index++;
        }
        if (index == 0 && document.Root?.Name.LocalName != "ASAP_Annotations")
        {
            throw new InvalidDataException($"{path}: not an ASAP annotation file (root element <{document.Root?.Name.LocalName}>, expected <ASAP_Annotations>)");
        }
        return polygons;
    }

    /// <summary>
    /// Writes <paramref name="tumour"/> as an ASAP XML file (group <c>Tumor</c>, coordinates in level-0 pixels, as the
    /// CAMELYON16 lesion annotations are), atomically.
    /// </summary>
    public static void Write(string path, IEnumerable<AnnotationPolygon> tumour) => Write(path, tumour, "Tumor", "#F4FA58", "#00ff00");

    /// <summary>
    /// Writes <paramref name="polygons"/> as an ASAP XML file in one annotation group <paramref name="group"/>
    /// (coordinates in level-0 pixels), drawn in <paramref name="colour"/> (<c>#rrggbb</c>), atomically.
    /// </summary>
    public static void Write(string path, IEnumerable<AnnotationPolygon> polygons, string group, string colour) => Write(path, polygons, group, colour, colour);

    private static void Write(string path, IEnumerable<AnnotationPolygon> polygons, string group, string colour, string groupColour)
    {
        ArgumentNullException.ThrowIfNull(polygons);
        var annotations = polygons.Select(polygon => new XElement("Annotation",
            new XAttribute("Name", polygon.Name), new XAttribute("Type", "Polygon"), new XAttribute("PartOfGroup", group), new XAttribute("Color", colour),
            new XElement("Coordinates", polygon.X.Select((x, k) => new XElement("Coordinate",
                new XAttribute("Order", k),
                new XAttribute("X", x.ToString("R", CultureInfo.InvariantCulture)),
                new XAttribute("Y", polygon.Y[k].ToString("R", CultureInfo.InvariantCulture)))))));
        var document = new XDocument(new XElement("ASAP_Annotations",
            new XElement("Annotations", annotations),
            new XElement("AnnotationGroups", new XElement("Group",
                new XAttribute("Name", group), new XAttribute("PartOfGroup", "None"), new XAttribute("Color", groupColour), new XElement("Attributes")))));
        // Written as text so that the file has no byte-order mark, as ASAP's own files.
        AtomicFile.Write(path, temporary => File.WriteAllText(temporary, "<?xml version=\"1.0\"?>\n" + document.ToString()));
    }

    private static double Number(XElement coordinate, string attribute, string where)
    {
        string? text = (string?)coordinate.Attribute(attribute);
        if (text is null)
        {
            throw new InvalidDataException($"{where}: a Coordinate has no {attribute} attribute");
        }
        // Files saved under a decimal-comma locale write X="123,5"; a comma is read as the decimal point.
        if (!double.TryParse(text.Replace(',', '.'), NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || !double.IsFinite(value))
        {
            throw new InvalidDataException($"{where}: Coordinate {attribute}=\"{text}\" is not a number");
        }
        return value;
    }
}
