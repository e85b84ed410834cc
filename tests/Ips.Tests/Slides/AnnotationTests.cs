using Ips.Slides.Annotations;

namespace Ips.Tests.Slides;

public sealed class AnnotationTests : IDisposable
{
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    /// <summary>An ASAP annotation file as ASAP and the CAMELYON16 release write it.</summary>
    internal static string AsapXml(params (string Group, (double X, double Y)[] Points)[] annotations)
    {
        var body = string.Concat(annotations.Select((a, i) =>
            $"""
                <Annotation Name="Annotation {i}" Type="Polygon" PartOfGroup="{a.Group}" Color="#F4FA58">
                  <Coordinates>
            {string.Concat(a.Points.Select((p, k) => FormattableString.Invariant($"        <Coordinate Order=\"{k}\" X=\"{p.X}\" Y=\"{p.Y}\" />\n")))}      </Coordinates>
                </Annotation>

            """));
        return $"""
            <?xml version="1.0"?>
            <ASAP_Annotations>
              <Annotations>
            {body}  </Annotations>
              <AnnotationGroups>
                <Group Name="_0" PartOfGroup="None" Color="#ff0000"><Attributes /></Group>
              </AnnotationGroups>
            </ASAP_Annotations>
            """;
    }

    [Fact]
    public void Groups_split_into_tumour_and_exclusions_with_points_in_their_order()
    {
        var path = _files.File("tumor_001.xml");
        File.WriteAllText(path, AsapXml(
            ("_0", [(10, 10), (110.5, 10), (110.5, 90)]),
            ("Tumor", [(0, 0), (1, 0), (1, 1)]),
            ("_2", [(20, 20), (30, 20), (30, 30)])));
        // Coordinates listed out of order must be put in their Order.
        File.WriteAllText(path, File.ReadAllText(path).Replace(
            "<Coordinate Order=\"0\" X=\"10\" Y=\"10\" />", "<Coordinate Order=\"3\" X=\"10\" Y=\"10\" />"));

        var regions = AsapAnnotations.Read(path);

        Assert.Equal(2, regions.Tumour.Count);
        Assert.Single(regions.Exclusions);
        Assert.Equal([110.5, 110.5, 10], regions.Tumour[0].X);
        Assert.Equal([10, 90, 10], regions.Tumour[0].Y);
        Assert.Equal("Annotation 2", regions.Exclusions[0].Name);
    }

    [Fact]
    public void Decimal_commas_are_read_as_points()
    {
        var path = _files.File("comma.xml");
        File.WriteAllText(path, AsapXml(("_1", [(1.5, 2), (3, 4), (5, 6)])).Replace("X=\"1.5\"", "X=\"1,5\""));
        Assert.Equal(1.5, AsapAnnotations.Read(path).Tumour[0].X[0]);
    }

    [Theory]
    [InlineData("<ASAP_Annotations><Annotations><Annotation", "not well-formed XML")]
    [InlineData("<Other />", "not an ASAP annotation file")]
    public void Malformed_files_name_the_file_and_the_problem(string text, string problem)
    {
        var path = _files.File("bad.xml");
        File.WriteAllText(path, text);
        var error = Assert.Throws<InvalidDataException>(() => AsapAnnotations.Read(path));
        Assert.Contains(path, error.Message);
        Assert.Contains(problem, error.Message);
    }

    [Fact]
    public void Bad_annotations_name_the_annotation()
    {
        var path = _files.File("bad.xml");
        File.WriteAllText(path, AsapXml(("Lymph", [(0, 0), (1, 0), (1, 1)])));
        Assert.Contains("annotation 'Annotation 0' is in group 'Lymph'", Assert.Throws<InvalidDataException>(() => AsapAnnotations.Read(path)).Message);

        File.WriteAllText(path, AsapXml(("_0", [(0, 0), (1, 0)])));
        Assert.Contains("has 2 coordinates", Assert.Throws<InvalidDataException>(() => AsapAnnotations.Read(path)).Message);

        File.WriteAllText(path, AsapXml(("_0", [(0, 0), (1, 0), (1, 1)])).Replace("Y=\"1\"", "Y=\"one\""));
        Assert.Contains("Y=\"one\" is not a number", Assert.Throws<InvalidDataException>(() => AsapAnnotations.Read(path)).Message);
    }

    [Fact]
    public void A_missing_file_is_named()
    {
        var path = _files.File("absent.xml");
        Assert.Contains(path, Assert.Throws<FileNotFoundException>(() => AsapAnnotations.Read(path)).Message);
    }
}
