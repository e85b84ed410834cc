using Ips.Data.Camelyon16;
using Ips.Slides;
using Ips.Slides.Annotations;

namespace Ips.Tests.Data.Camelyon16;

/// <summary>The generated mini cohort of <c>ips data camelyon16 synthetic</c>: layout, labels, annotations, texture.</summary>
public sealed class SyntheticCohortTests : IDisposable
{
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public void The_cohort_has_the_challenge_layout_and_its_labels_and_reference_follow_the_tumour()
    {
        var root = _files.File("cohort");
        var slides = SyntheticCohort.Write(root, perClass: 2, test: 3, size: 512, seed: 1);

        Assert.Equal(["normal_001", "tumor_001", "normal_002", "tumor_002", "test_001", "test_002", "test_003"], slides.Select(s => s.SlideId));
        Assert.All(slides, s => Assert.True(File.Exists(s.Path), s.Path));
        Assert.Equal(Path.Combine(root, "training", "tumor", "tumor_002.tif"), slides[3].Path);
        Assert.Equal(Path.Combine(root, "training", "lesion_annotations", "tumor_002.xml"), slides[3].Annotations);
        Assert.Equal(Path.Combine(root, "testing", "lesion_annotations", "test_001.xml"), slides[4].Annotations);
        Assert.Null(slides[5].Annotations);
        Assert.Equal("test_001,Tumor,Macro,,\ntest_002,Normal,,,\ntest_003,Tumor,Macro,,\n", File.ReadAllText(Path.Combine(root, "testing", "reference.csv")));

        var labels = SlideLabels.FromCamelyon16(root);
        Assert.Equal(
            ["normal_001:0:train", "normal_002:0:train", "test_001:1:test", "test_002:0:test", "test_003:1:test", "tumor_001:1:train", "tumor_002:1:train"],
            labels.Select(l => $"{l.SlideId}:{l.Label}:{SlideLabels.SplitOf(l)}"));
        using var slide = SlideOpener.Open(slides[0].Path);
        Assert.Equal((512L, 512L), (slide.Levels[0].Width, slide.Levels[0].Height));
    }

    [Fact]
    public void The_annotation_outlines_the_tumour_texture_which_is_darker_than_the_normal_tissue()
    {
        var normal = new SyntheticTissue(1024, 1024, seed: 2, tissueFraction: 0.3, blobRadius: 170);
        var host = normal.Blobs[0];
        var tumour = new TissueBlob(host.CenterX, host.CenterY, 90, 70, 0.4, 0.08, 1.0, 0.04, 2.0);
        var content = new TumourTissue(normal, [tumour]);
        var xml = _files.File("tumour.xml");
        var (x, y) = tumour.Outline(48);
        AsapAnnotations.Write(xml, [new AnnotationPolygon("_0", x, y)]);

        // Read back, the polygon's vertices lie on the tumour's boundary: just inside is tumour, just outside is not.
        var polygon = Assert.Single(AsapAnnotations.Read(xml).Tumour);
        Assert.Equal(48, polygon.X.Length);
        for (int k = 0; k < polygon.X.Length; k++)
        {
            double dx = polygon.X[k] - tumour.CenterX, dy = polygon.Y[k] - tumour.CenterY;
            Assert.True(content.IsTumour(tumour.CenterX + 0.97 * dx, tumour.CenterY + 0.97 * dy), $"vertex {k} inside");
            Assert.False(content.IsTumour(tumour.CenterX + 1.03 * dx, tumour.CenterY + 1.03 * dy), $"vertex {k} outside");
        }

        // Tumour pixels: crowded dark nuclei, so the mean is far darker than the normal tissue of the same slide.
        double Mean(double cx, double cy)
        {
            var rgb = new byte[48 * 48 * 3];
            content.Render(1, (long)cx - 24, (long)cy - 24, 48, 48, rgb);
            return rgb.Average(b => (double)b);
        }
        var other = normal.Blobs.First(b => !tumour.MayIntersect(b.CenterX - 30, b.CenterY - 30, 60, 60));
        Assert.InRange(Mean(tumour.CenterX, tumour.CenterY), 0, Mean(other.CenterX, other.CenterY) - 25);
    }
}
