using System.Text.Json;
using Ips.Configuration;
using Ips.Imaging;
using Ips.Inference;
using Ips.IO;
using Ips.Modeling;
using Ips.Slides;
using Ips.Slides.Annotations;
using Ips.Tests.Cli;
using Ips.Tests.Slides;
using SkiaSharp;
using static TorchSharp.torch;

namespace Ips.Tests.Inference;

/// <summary>
/// <c>ips predict</c> on a generated normal and tumour slide (2048 px at 0.25 um per pixel) with every picture and
/// export asked for, run once for the tests below: the attention pictures, the heat map TIFFs, QuPath GeoJSON and ASAP XML.
/// </summary>
public sealed class PredictExportsFixture : IDisposable
{
    private readonly TempFiles _files = new();

    public PredictExportsFixture()
    {
        var cohort = _files.File("cohort");
        Run("data", "camelyon16", "synthetic", "--out", cohort, "--slides", "1", "--test", "0", "--size", "2048", "--seed", "8");
        Slides = [Path.Combine(cohort, "training", "normal", "normal_001.tif"), Path.Combine(cohort, "training", "tumor", "tumor_001.tif")];
        string[] model = ["-c", CommandLineTests.RepoConfig("mnist-small.yml"), "--set", "n_chan_in=3", "--set", "use_pos=False", "--set", "M=4", "--set", "I=8"];
        var weights = _files.File("model.pt");
        manual_seed(5);
        using (var net = new IpsNet(ConfigLoader.Load(model[1], [.. model.Skip(2).Where((_, i) => i % 2 == 1)])))
        {
            StateDictIO.Save(net, weights);
        }
        (Maps, GeoJson, Asap) = (_files.File("maps"), _files.File("geojson"), _files.File("asap"));
        var json = _files.File("predictions.json");
        Run(["predict", .. model, "-w", weights, .. Slides, "--level", "1", "--annotations", Path.Combine(cohort, "training", "lesion_annotations"),
            "--attention-dir", Maps, "--geojson", GeoJson, "--asap", Asap, "-o", json]);
        using var document = JsonDocument.Parse(File.ReadAllText(json));
        Predictions = [.. document.RootElement.EnumerateArray().Select(p => p.Clone())];
    }

    public string[] Slides { get; }

    public string Maps { get; }

    public string GeoJson { get; }

    public string Asap { get; }

    public JsonElement[] Predictions { get; }

    public void Dispose() => _files.Dispose();

    private static void Run(params string[] args)
    {
        var (code, output) = CommandLineTests.Ips(args);
        Assert.True(code == 0, $"ips {string.Join(' ', args)}:\n{output}");
    }
}

[Collection(nameof(ConsoleOutput))]
public sealed class PredictExportsTests(PredictExportsFixture fixture) : IClassFixture<PredictExportsFixture>
{
    private static (int X, int Y, int Width, int Height) Box(JsonElement selected)
    {
        var box = selected.GetProperty("box");
        return (box.GetProperty("x").GetInt32(), box.GetProperty("y").GetInt32(), box.GetProperty("width").GetInt32(), box.GetProperty("height").GetInt32());
    }

    private static double SlideMpp(JsonElement prediction)
    {
        using var slide = SlideOpener.Open(prediction.GetProperty("input").GetString()!);
        return slide.MicronsPerPixel!.Value.X;
    }

    private static string Name(JsonElement prediction) => Path.GetFileNameWithoutExtension(prediction.GetProperty("input").GetString()!);

    [Fact]
    public void The_geojson_is_a_FeatureCollection_of_the_selected_boxes_as_QuPath_annotations_with_attention_rank_and_tumour_fraction()
    {
        foreach (var prediction in fixture.Predictions)
        {
            var selected = prediction.GetProperty("selected").EnumerateArray().ToList();
            using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(fixture.GeoJson, Name(prediction) + ".geojson")));
            Assert.Equal("FeatureCollection", json.RootElement.GetProperty("type").GetString());
            var features = json.RootElement.GetProperty("features").EnumerateArray().ToList();
            Assert.Equal(4, selected.Count);
            Assert.Equal(selected.Count, features.Count);
            var scores = selected.Select(s => s.GetProperty("score").GetSingle()).ToList();
            for (int i = 0; i < selected.Count; i++)
            {
                var (x, y, w, h) = Box(selected[i]);
                var geometry = features[i].GetProperty("geometry");
                Assert.Equal("Polygon", geometry.GetProperty("type").GetString());
                var ring = geometry.GetProperty("coordinates")[0].EnumerateArray().Select(p => (p[0].GetInt32(), p[1].GetInt32())).ToArray();
                Assert.Equal([(x, y), (x + w, y), (x + w, y + h), (x, y + h), (x, y)], ring);
                var properties = features[i].GetProperty("properties");
                Assert.Equal("annotation", properties.GetProperty("objectType").GetString());
                Assert.Equal(PredictionExports.SelectedClass, properties.GetProperty("classification").GetProperty("name").GetString());
                Assert.Equal([255, 0, 255], properties.GetProperty("classification").GetProperty("color").EnumerateArray().Select(c => c.GetInt32()));
                var measurements = properties.GetProperty("measurements");
                Assert.Equal(scores[i], (float)measurements.GetProperty("attention").GetDouble());
                Assert.Equal(1 + scores.Count(s => s > scores[i]), measurements.GetProperty("rank").GetInt32());
                Assert.Equal(selected[i].GetProperty("tumour_fraction").GetSingle(), (float)measurements.GetProperty("tumour fraction").GetDouble());
            }
        }
    }

    [Fact]
    public void The_ASAP_XML_of_the_selected_tiles_reads_back_as_their_boxes()
    {
        foreach (var prediction in fixture.Predictions)
        {
            var selected = prediction.GetProperty("selected").EnumerateArray().ToList();
            var polygons = AsapAnnotations.ReadGroups(Path.Combine(fixture.Asap, Name(prediction) + ".xml"));
            Assert.Equal(selected.Count, polygons.Count);
            for (int i = 0; i < selected.Count; i++)
            {
                var (x, y, w, h) = Box(selected[i]);
                var (group, polygon) = polygons[i];
                Assert.Equal(PredictionExports.AsapGroup, group);
                Assert.Equal([x, x + w, x + w, x], polygon.X);
                Assert.Equal([y, y, y + h, y + h], polygon.Y);
                Assert.StartsWith("rank ", polygon.Name, StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public void The_heat_map_TIFF_opens_with_OpenSlide_aligned_to_the_slide_and_its_pixels_hold_each_selected_tiles_score()
    {
        foreach (var prediction in fixture.Predictions)
        {
            var heatMap = prediction.GetProperty("heat_map");
            var file = new HeatMapFile(heatMap.GetProperty("path").GetString()!, heatMap.GetProperty("cell_size").GetInt32(), heatMap.GetProperty("scale_max").GetSingle());
            var selected = prediction.GetProperty("selected").EnumerateArray().ToList();
            int cell = Box(selected[0]).Width;
            Assert.Equal(cell, file.CellSize);
            // The shared scale: the highest attention of both slides.
            Assert.Equal(fixture.Predictions.SelectMany(p => p.GetProperty("selected").EnumerateArray()).Max(s => s.GetProperty("score").GetSingle()), file.ScaleMax);

            using var slide = SlideOpener.Open(file.Path, SlideReaderKind.OpenSlide);
            Assert.Equal("openslide", slide.Reader);
            Assert.Equal((2048 + cell - 1) / cell, slide.Levels[0].Width);
            Assert.True(slide.Levels.Count > 1, "a pyramid");
            // Resolution tags: the slide's micrometres per pixel times the cell. OpenSlide 3.4 lists the tags without
            // turning them into openslide.mpp-x; the managed reader does.
            double mpp = SlideMpp(prediction);
            Assert.Equal(10_000 / (mpp * cell), double.Parse(slide.Properties["tiff.XResolution"], System.Globalization.CultureInfo.InvariantCulture), 1e-3);
            Assert.Equal("centimeter", slide.Properties["tiff.ResolutionUnit"]);
            using (var managed = SlideOpener.Open(file.Path, SlideReaderKind.Tiff))
            {
                Assert.Equal(mpp * cell, managed.MicronsPerPixel!.Value.X, 1e-4);
            }
            var pixels = slide.ReadRegion(0, 0, 0, (int)slide.Levels[0].Width, (int)slide.Levels[0].Height);
            var selectedCells = new HashSet<(int, int)>();
            foreach (var tile in selected)
            {
                var (x, y, _, _) = Box(tile);
                selectedCells.Add((x / cell, y / cell));
                byte value = pixels[((y / cell) * (int)slide.Levels[0].Width + x / cell) * 3];
                Assert.Equal(tile.GetProperty("score").GetSingle(), file.Attention(value), 0.51f / 254 * file.ScaleMax);
            }
            // Everywhere else: no selected tile.
            for (int j = 0; j < slide.Levels[0].Height; j++)
            {
                for (int i = 0; i < slide.Levels[0].Width; i++)
                {
                    Assert.True(selectedCells.Contains((i, j)) || pixels[(j * (int)slide.Levels[0].Width + i) * 3] == 0, $"cell ({i}, {j})");
                }
            }
        }
    }

    [Fact]
    public void Both_pictures_colour_each_selected_tile_by_its_score_on_the_one_scale_of_both_slides()
    {
        // The tint at a selected tile's centre is the thumbnail mixed with jet(score / top), top being the highest
        // score of both slides, not of the tile's own slide.
        float top = fixture.Predictions.SelectMany(p => p.GetProperty("selected").EnumerateArray()).Max(s => s.GetProperty("score").GetSingle());
        foreach (var prediction in fixture.Predictions)
        {
            using var picture = SKBitmap.Decode(prediction.GetProperty("attention_map").GetString());
            using var slide = SlideOpener.Open(prediction.GetProperty("input").GetString()!);
            var thumbnail = slide.ReadThumbnail(1024);
            foreach (var tile in prediction.GetProperty("selected").EnumerateArray())
            {
                var (x, y, width, height) = Box(tile);
                int cx = (int)((x + width / 2) / thumbnail.Downsample), cy = (int)((y + height / 2) / thumbnail.Downsample);
                int i = (cy * thumbnail.Width + cx) * 3;
                var (r, g, b) = AttentionMap.Jet(tile.GetProperty("score").GetSingle() / top);
                var expected = new SKColor(AttentionMap.Mix(thumbnail.Rgb[i], r), AttentionMap.Mix(thumbnail.Rgb[i + 1], g), AttentionMap.Mix(thumbnail.Rgb[i + 2], b));
                Assert.Equal(expected, picture.GetPixel(PictureFrame.BodyLeft + cx, PictureFrame.BodyTop + cy));
            }
        }
    }

    [Fact]
    public void Both_pictures_have_a_title_a_colour_bar_and_a_scale_bar()
    {
        var pictures = fixture.Predictions.Select(p => SKBitmap.Decode(p.GetProperty("attention_map").GetString())).ToList();
        try
        {
            foreach (var (picture, prediction) in pictures.Zip(fixture.Predictions))
            {
                int dark = Enumerable.Range(8, 3 * PictureFrame.LineHeight).Sum(y => Enumerable.Range(0, 300).Count(x => picture.GetPixel(x, y).Red < 100));
                Assert.True(dark > 150, $"{dark} dark pixels in the title");
                // The thumbnail's downsample is 2 (2048 to 1024): 50 um at about 0.5 um per picture pixel.
                var scale = new PictureFrame { MicronsPerPixel = 2 * SlideMpp(prediction) }.ScaleBarRect(1024)!.Value;
                Assert.InRange(scale.Width, 90, 110);
                Assert.Equal(SKColors.Black, picture.GetPixel(scale.Left + 1, scale.MidY));
                Assert.Equal(SKColors.Black, picture.GetPixel(scale.Right - 1, scale.MidY));
            }
            // The colour bar: jet from blue (0) to red (the top of the scale), as blended over white.
            var bar = PictureFrame.ColourBarRect(1024);
            foreach (var picture in pictures)
            {
                var (low, high) = (picture.GetPixel(bar.Left, bar.MidY), picture.GetPixel(bar.Right - 1, bar.MidY));
                Assert.True(low.Blue > low.Red + 50 && high.Red > high.Blue + 50, $"colour bar from {low} to {high}");
            }
        }
        finally
        {
            pictures.ForEach(p => p.Dispose());
        }
    }
}
