using System.Text.Json;
using Ips.Slides.Tissue;

namespace Ips.Tests.Slides;

public sealed class OtsuTests
{
    private static JsonElement Golden() =>
        JsonDocument.Parse(File.ReadAllText(SlideTestFiles.Fixture("otsu-golden.json"))).RootElement;

    private static double[] Centres() => [.. Enumerable.Range(0, StainGrey.Levels).Select(StainGrey.ToGrey)];

    [Fact]
    public void Thresholds_of_fixed_histograms_equal_scikit_image()
    {
        var cases = Golden().GetProperty("histograms").EnumerateArray().ToList();
        Assert.Equal(4, cases.Count);
        var centres = Centres();
        foreach (var golden in cases)
        {
            var counts = golden.GetProperty("counts").EnumerateArray().Select(c => c.GetInt64()).ToArray();
            int index = Otsu.ThresholdIndex(counts, centres);
            Assert.True(golden.GetProperty("threshold").GetDouble() == centres[index],
                $"{golden.GetProperty("name")}: skimage {golden.GetProperty("threshold")}, ours {centres[index]}");
        }
    }

    /// <summary>The image of make_otsu_golden.py: a stained disc with texture on textured glass.</summary>
    internal static (byte R, byte G, byte B) GoldenImage(int x, int y)
    {
        int n = (x * 31 + y * 17 + x * y) % 23;
        return (x - 40) * (x - 40) + (y - 30) * (y - 30) < 400
            ? ((byte)(200 - n), (byte)(120 + n), (byte)(190 - 2 * n % 29))
            : ((byte)(235 + n % 7), (byte)(233 + n % 5), (byte)(238 + n % 9));
    }

    [Fact]
    public void Threshold_of_an_image_equals_the_official_float_grey_histogram_through_scikit_image()
    {
        var golden = Golden().GetProperty("images")[0];
        using var slide = InMemorySlide.Paint(golden.GetProperty("width").GetInt32(), golden.GetProperty("height").GetInt32(), GoldenImage);
        var histogram = SlideOtsu.Histogram(slide, level: 0);
        // The official grey values are float64 sums that can miss k / 3 by an ulp; ours are exact thirds.
        Assert.Equal(golden.GetProperty("threshold").GetDouble(), StainGrey.ToGrey(histogram.OtsuThirds()), 1e-9);
    }

    [Fact]
    public void Strip_wise_histogram_and_threshold_equal_the_whole_image_at_once()
    {
        using var slide = InMemorySlide.Paint(301, 223, (x, y) =>
        {
            var (r, g, b) = GoldenImage(x % 97, y % 61);
            return ((byte)(r - x % 5), g, (byte)(b - y % 3));
        }, levels: 3);
        foreach (int level in new[] { 0, 1, 2 })
        {
            var size = slide.Levels[level];
            var whole = new GreyHistogram();
            whole.AddRgb(slide.ReadRegion(level, 0, 0, (int)size.Width, (int)size.Height));
            Assert.Equal(size.Width * size.Height, whole.Total);
            foreach (var (strip, block) in new[] { (1, 4096), (7, 5), (64, 64), (1000, 33) })
            {
                var strips = SlideOtsu.Histogram(slide, level, strip, block);
                Assert.Equal(whole.Counts.ToArray(), strips.Counts.ToArray());
                Assert.Equal(whole.OtsuThirds(), strips.OtsuThirds());
            }
        }
    }

    [Fact]
    public void Strip_progress_counts_every_strip()
    {
        using var slide = InMemorySlide.Paint(50, 45, GoldenImage);
        var reports = new List<SlidePassProgress>();
        SlideOtsu.Histogram(slide, 0, stripHeight: 10, progress: new Recorder(reports));
        Assert.Equal([1, 2, 3, 4, 5], reports.Select(r => r.Done));
        Assert.All(reports, r => Assert.Equal(5, r.Total));
    }

    [Fact]
    public void A_single_grey_level_is_its_own_threshold_and_an_empty_histogram_is_refused()
    {
        var counts = new long[StainGrey.Levels];
        counts[42] = 9;
        Assert.Equal(42, Otsu.ThresholdIndex(counts, Centres()));
        Assert.Throws<InvalidOperationException>(() => new GreyHistogram().OtsuThirds());
    }

    [Fact]
    public void Grey_level_is_the_stain_formula_in_thirds()
    {
        // R + B - (R + G + B) / 1.5 = (R + B - 2 G) / 3, clipped at 0.
        Assert.Equal(140, StainGrey.Thirds(104, 58, 152));
        Assert.Equal(0, StainGrey.Thirds(200, 220, 200));
        Assert.Equal(510, StainGrey.Thirds(255, 0, 255));
        Assert.Equal(170.0, StainGrey.ToGrey(510));
    }

    private sealed class Recorder(List<SlidePassProgress> reports) : IProgress<SlidePassProgress>
    {
        public void Report(SlidePassProgress value) => reports.Add(value);
    }
}
