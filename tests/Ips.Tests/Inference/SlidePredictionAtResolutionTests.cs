using System.Text.Json;
using Ips.Configuration;
using Ips.IO;
using Ips.Modeling;
using Ips.Slides;
using Ips.Tests.Cli;
using Ips.Tests.Slides;
using static TorchSharp.torch;

namespace Ips.Tests.Inference;

/// <summary>
/// <c>ips predict --mpp / --magnification</c> on a slide without <c>--coords</c>, on a generated slide of 0.25 um/px at
/// level 0 with a level at 0.5: the tiles it cuts are those <c>ips slides tile</c> cuts at that resolution (the same
/// prediction as with their <c>--coords</c>), which at 0.5 um/px are the tiles of that level; a slide that records no
/// resolution needs <c>--mpp-level0</c>, and contradicting options are usage errors.
/// </summary>
[Collection(nameof(ConsoleOutput))]
public sealed class SlidePredictionAtResolutionTests : IDisposable
{
    private const string Name = "mpp_001";
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    // An RGB image config (28-pixel tiles: the config's patch_size) with random weights.
    private string[] Model()
    {
        string[] model = ["-c", CommandLineTests.RepoConfig("mnist-small.yml"), "--set", "n_chan_in=3", "--set", "use_pos=False", "--set", "M=4", "--set", "I=8"];
        var weights = _files.File("model.pt");
        if (!File.Exists(weights))
        {
            manual_seed(5);
            using var net = new IpsNet(ConfigLoader.Load(model[1], [.. model.Skip(2).Where((_, i) => i % 2 == 1)]));
            StateDictIO.Save(net, weights);
        }
        return [.. model, "-w", weights];
    }

    // 896 x 896 at 0.25 um/px (levels 896, 448 at 0.5, 224 at 1.0), as MagnificationTilingTests' slide; with mpp null
    // the file records no resolution.
    private string WriteSlide(double? mpp, string folder)
    {
        var path = _files.File(Path.Combine(folder, Name + ".tif"));
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        SlideTestFiles.WriteMppSlide(path, mpp);
        return path;
    }

    // The prediction's patch count, probabilities and selected tiles (index and level-0 box), to compare runs by.
    private (int Patches, string Probabilities, string Selected) Predict(string slide, params string[] options)
    {
        var json = _files.File($"prediction-{Guid.NewGuid():N}.json");
        var (code, output) = CommandLineTests.Ips(["predict", .. Model(), slide, "-o", json, "--plain", .. options]);
        Assert.True(code == 0, $"ips predict {string.Join(' ', options)} exited {code}:\n{output}");
        using var document = JsonDocument.Parse(File.ReadAllText(json));
        var prediction = document.RootElement[0];
        var selected = prediction.GetProperty("selected").EnumerateArray()
            .Select(p =>
            {
                var box = p.GetProperty("box");
                return $"{p.GetProperty("index")}@{box.GetProperty("x")},{box.GetProperty("y")}+{box.GetProperty("width")}x{box.GetProperty("height")}";
            });
        return (prediction.GetProperty("patch_count").GetInt32(), prediction.GetProperty("probabilities").GetRawText(), string.Join(';', selected));
    }

    [Fact]
    public void Predict_at_0_5_um_cuts_the_tiles_of_slides_tile_at_0_5_um_which_are_those_of_the_0_5_um_level()
    {
        var slide = WriteSlide(0.25, "slides");
        var tiles = _files.File("tiles");
        var (code, output) = CommandLineTests.Ips("slides", "tile", slide, "--out", tiles, "--mpp", "0.5", "--tile-size", "28", "--plain");
        Assert.True(code == 0, output);
        var coords = Path.Combine(tiles, Name + ".h5");

        var atMpp = Predict(slide, "--mpp", "0.5");
        Assert.Equal(Predict(slide, "--coords", coords), atMpp);
        Assert.Equal(atMpp, Predict(slide, "--magnification", "20"));
        // Level 1 is 0.5 um/px: its tiles are read unresized, the same tiles (Otsu at level 0, as at a resolution).
        Assert.Equal(atMpp, Predict(slide, "--level", "1", "--otsu-level", "0"));
        // 28 pixels at 0.5 um/px span 56 level-0 pixels.
        Assert.All(atMpp.Selected.Split(';'), tile => Assert.EndsWith("+56x56", tile, StringComparison.Ordinal));
        Assert.InRange(atMpp.Patches, 20, 16 * 16 - 1);

        // Between levels (0.4 um/px: level 0 resized) the same holds against slides tile's coordinates.
        var between = _files.File("tiles-0.4");
        (code, output) = CommandLineTests.Ips("slides", "tile", slide, "--out", between, "--mpp", "0.4", "--tile-size", "28", "--plain");
        Assert.True(code == 0, output);
        Assert.Equal(Predict(slide, "--coords", Path.Combine(between, Name + ".h5")), Predict(slide, "--mpp", "0.4"));
    }

    [Fact]
    public void A_slide_without_a_resolution_needs_mpp_level0_and_contradicting_options_are_usage_errors()
    {
        var recorded = WriteSlide(0.25, "recorded");
        var bare = WriteSlide(null, "bare");

        var (code, output) = CommandLineTests.Ips(["predict", .. Model(), bare, "--mpp", "0.5", "--plain"]);
        Assert.Equal(1, code);
        Assert.Contains($"error: {bare}: --mpp needs the slide's microns per pixel, which the file does not record", output, StringComparison.Ordinal);
        Assert.Contains("give it with --mpp-level0 X", output, StringComparison.Ordinal);
        Assert.Equal(Predict(recorded, "--mpp", "0.5"), Predict(bare, "--mpp", "0.5", "--mpp-level0", "0.25"));

        (code, output) = CommandLineTests.Ips(["predict", .. Model(), recorded, "--mpp", "0.5", "--level", "1", "--plain"]);
        Assert.Equal(64, code);
        Assert.Contains("error: --level cuts tiles at a pyramid level, --mpp and --magnification at a resolution; give one of them", output, StringComparison.Ordinal);

        (code, output) = CommandLineTests.Ips(["predict", .. Model(), recorded, "--mpp", "0.5", "--coords", recorded, "--plain"]);
        Assert.Equal(64, code);
        Assert.Contains($"error: --coords {recorded} says how its tiles were cut; --mpp and --magnification are for slides tiled now, without --coords.", output, StringComparison.Ordinal);

        (code, output) = CommandLineTests.Ips(["predict", .. Model(), recorded, "--mpp-level0", "0.25", "--plain"]);
        Assert.Equal(64, code);
        Assert.Contains("error: --mpp-level0 only serves --mpp or --magnification", output, StringComparison.Ordinal);

        (code, output) = CommandLineTests.Ips(["predict", .. Model(), recorded, "--mpp", "-1", "--plain"]);
        Assert.Equal(64, code);
        Assert.Contains("error: --mpp must be a positive number, got -1", output, StringComparison.Ordinal);
    }
}
