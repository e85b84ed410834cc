using System.Text.Json;
using Ips.Configuration;
using Ips.IO;
using Ips.Imaging;
using Ips.Modeling;
using Ips.Slides.Tiling;
using Ips.Tests.Cli;
using Ips.Tests.Slides;
using SkiaSharp;
using static TorchSharp.torch;

namespace Ips.Tests.Inference;

/// <summary>
/// A generated tumour slide of the mini cohort, its tiles (<c>ips slides tile</c>, with and without its annotations),
/// a ResNet-18 BYOL checkpoint from a one-epoch <c>ips pretrain byol</c> on those tiles, the slide's features from
/// <c>ips slides features</c>, and an IPS model on the scaled-down camelyon config: made once for the tests below.
/// </summary>
public sealed class EncodedSlideFixture : IDisposable
{
    private readonly TempFiles _files = new();

    /// <summary>The scaled-down camelyon config: ResNet-18 features (512-d), D 16, M 3, I 2.</summary>
    public static readonly string[] Model =
    [
        "-c", RepositoryFiles.Path("configs/camelyon.yml"), "--set", "n_chan_in=512", "--set", "D=16", "--set", "H=2",
        "--set", "D_k=4", "--set", "D_v=4", "--set", "D_inner=32", "--set", "M=3", "--set", "I=2",
    ];

    public EncodedSlideFixture()
    {
        var cohort = _files.File("cohort");
        Run("data", "camelyon16", "synthetic", "--out", cohort, "--slides", "1", "--test", "0", "--size", "1024", "--seed", "8");
        Slide = Path.Combine(cohort, "training", "tumor", "tumor_001.tif");
        Annotations = Path.Combine(cohort, "training", "lesion_annotations");
        Coords = _files.File("coords");
        Run("slides", "tile", Slide, "--out", Coords, "--plain");
        AnnotatedCoords = _files.File("annotated");
        Run("slides", "tile", Slide, "--out", AnnotatedCoords, "--annotations", Annotations, "--plain");
        Encoder = Path.Combine(_files.File("byol"), "byol.ckpt");
        Run("pretrain", "byol", "--tiles", Coords, "--slides", cohort, "--out", _files.File("byol"), "--plain",
            "--set", "backbone=resnet18", "--set", "epochs=1", "--set", "batch_size=4", "--set", "image_size=16", "--set", "blur_kernel=7",
            "--set", "projector_hidden=32", "--set", "projection_dim=16", "--set", "predictor_hidden=32", "--set", "warmup_epochs=0", "--set", "n_worker=2");
        Features = Path.Combine(_files.File("features"), "tumor_001.h5");
        Run("slides", "features", Slide, "--coords", Coords, "--encoder", Encoder, "--out", _files.File("features"), "--batch-size", "5");

        Weights = _files.File("model.pt");
        manual_seed(11);
        using var net = new IpsNet(ConfigLoader.Load(Model[1], [.. Model.Skip(2).Where((_, i) => i % 2 == 1)]));
        StateDictIO.Save(net, Weights);
    }

    public string Slide { get; }

    public string Annotations { get; }

    public string Coords { get; }

    public string AnnotatedCoords { get; }

    public string Encoder { get; }

    public string Features { get; }

    public string Weights { get; }

    public string File(string name) => _files.File(name);

    public void Dispose() => _files.Dispose();

    private static void Run(params string[] args)
    {
        var (code, output) = CommandLineTests.Ips(args);
        Assert.True(code == 0, $"ips {string.Join(' ', args)}:\n{output}");
    }
}

[Collection(nameof(ConsoleOutput))]
public sealed class SlideEncoderPredictionTests(EncodedSlideFixture fixture) : IClassFixture<EncodedSlideFixture>
{
    private static JsonElement PredictJson(string output, params string[] args)
    {
        var (code, text) = CommandLineTests.Ips(["predict", .. EncodedSlideFixture.Model, .. args, "-o", output]);
        Assert.True(code == 0, text);
        using var json = JsonDocument.Parse(File.ReadAllText(output));
        return json.RootElement[0].Clone();
    }

    private static long[] Indices(JsonElement prediction) =>
        [.. prediction.GetProperty("selected").EnumerateArray().Select(p => p.GetProperty("index").GetInt64())];

    private static float Probability(JsonElement prediction) =>
        prediction.GetProperty("probabilities").GetProperty("metastases")[0].GetSingle();

    [Fact]
    public void Predicting_a_slide_through_the_encoder_equals_predicting_its_extracted_features()
    {
        var maps = fixture.File("maps");
        var onTheFly = PredictJson(fixture.File("slide.json"), "-w", fixture.Weights, "--encoder", fixture.Encoder, "--attention-dir", maps, fixture.Slide);
        var extracted = PredictJson(fixture.File("features.json"), "-w", fixture.Weights, fixture.Features);

        // Same tiles (the slide is tiled here as `ips slides tile` did), same selection, same probability.
        var tiles = TileCoordsFile.Read(Path.Combine(fixture.Coords, "tumor_001.h5"));
        Assert.Equal(tiles.Count, onTheFly.GetProperty("patch_count").GetInt32());
        Assert.Equal(tiles.Count, extracted.GetProperty("patch_count").GetInt32());
        Assert.True(tiles.Count > 3, $"{tiles.Count} tiles; M is 3");
        Assert.Equal(Indices(extracted), Indices(onTheFly));
        Assert.InRange(Math.Abs(Probability(extracted) - Probability(onTheFly)), 0, 1e-5);

        // Each selected tile's box is its level-0 corner and side; the heat map outlines it over the thumbnail.
        foreach (var selected in onTheFly.GetProperty("selected").EnumerateArray())
        {
            var index = (int)selected.GetProperty("index").GetInt64();
            var box = selected.GetProperty("box");
            Assert.Equal(tiles.Coords[index, 0], box.GetProperty("x").GetInt32());
            Assert.Equal(tiles.Coords[index, 1], box.GetProperty("y").GetInt32());
            Assert.Equal(256, box.GetProperty("width").GetInt32());
        }
        Assert.Equal(Path.Combine(maps, "tumor_001.attention.png"), onTheFly.GetProperty("attention_map").GetString());
        using var picture = SKBitmap.Decode(onTheFly.GetProperty("attention_map").GetString());
        Assert.Equal(1024 + 2 * PictureFrame.BodyLeft, picture.Width);
        var first = onTheFly.GetProperty("selected")[0].GetProperty("box");
        Assert.Equal(new SKColor(255, 0, 255),
            picture.GetPixel(PictureFrame.BodyLeft + first.GetProperty("x").GetInt32(), PictureFrame.BodyTop + first.GetProperty("y").GetInt32()));
    }

    [Fact]
    public void With_annotations_each_selected_tile_gets_the_tumour_fraction_that_tiling_recorded_and_the_count_reaching_one_half()
    {
        // M = N: every tile is selected, so the count is the slide's number of tumour tiles.
        var prediction = PredictJson(fixture.File("annotated.json"), "-w", fixture.Weights, "--encoder", fixture.Encoder, "--set", "M=64",
            "--annotations", fixture.Annotations, fixture.Slide);

        var annotated = TileCoordsFile.Read(Path.Combine(fixture.AnnotatedCoords, "tumor_001.h5"));
        var recorded = Enumerable.Range(0, annotated.Count).ToDictionary(i => (annotated.Coords[i, 0], annotated.Coords[i, 1]), i => annotated.TumourFraction[i]);
        var selected = prediction.GetProperty("selected").EnumerateArray().ToList();
        Assert.Equal(prediction.GetProperty("patch_count").GetInt32(), selected.Count);
        var fractions = selected.Select(p =>
        {
            var box = p.GetProperty("box");
            var fraction = p.GetProperty("tumour_fraction").GetSingle();
            Assert.Equal(recorded[(box.GetProperty("x").GetInt32(), box.GetProperty("y").GetInt32())], fraction, 1e-6f);
            return fraction;
        }).ToList();

        var tumour = prediction.GetProperty("tumour");
        Assert.Equal(Path.Combine(fixture.Annotations, "tumor_001.xml"), tumour.GetProperty("annotations").GetString());
        Assert.Equal(selected.Count, tumour.GetProperty("selected").GetInt32());
        Assert.Equal(0.5, tumour.GetProperty("min_fraction").GetDouble());
        Assert.Equal(fractions.Count(f => f >= 0.5f), tumour.GetProperty("in_tumour").GetInt32());
        Assert.InRange(tumour.GetProperty("in_tumour").GetInt32(), 1, selected.Count - 1);
    }

    [Fact]
    public void A_feature_config_on_a_slide_needs_an_encoder_of_its_width_and_tiles_of_the_crop()
    {
        var (code, output) = CommandLineTests.Ips(["predict", .. EncodedSlideFixture.Model, "-w", fixture.Weights, fixture.Slide]);
        Assert.Equal(1, code);
        Assert.Contains($"error: {fixture.Slide}: config camelyon.yml has is_image: false (512-d tile features), so a slide needs --encoder FILE", output, StringComparison.Ordinal);

        var wide = fixture.File("wide.pt");
        string[] wideModel = [.. EncodedSlideFixture.Model.Select(a => a == "n_chan_in=512" ? "n_chan_in=2048" : a)];
        using (var net = new IpsNet(ConfigLoader.Load(wideModel[1], [.. wideModel.Skip(2).Where((_, i) => i % 2 == 1)])))
        {
            StateDictIO.Save(net, wide);
        }
        (code, output) = CommandLineTests.Ips(["predict", .. wideModel, "-w", wide, "--encoder", fixture.Encoder, fixture.Slide]);
        Assert.Equal(1, code);
        Assert.Contains($"error: --encoder {fixture.Encoder}: gives 512-d features but config camelyon.yml has n_chan_in 2048", output, StringComparison.Ordinal);

        (code, output) = CommandLineTests.Ips(["predict", .. EncodedSlideFixture.Model, "-w", fixture.Weights, "--encoder", fixture.Encoder, "--tile-size", "128", fixture.Slide]);
        Assert.Equal(1, code);
        Assert.Contains($"error: {fixture.Slide}: tiles of 128 pixels are smaller than the encoder's 224-pixel centre crop", output, StringComparison.Ordinal);

        var missing = fixture.File("nowhere.xml");
        (code, output) = CommandLineTests.Ips(["predict", .. EncodedSlideFixture.Model, "-w", fixture.Weights, "--encoder", fixture.Encoder, "--annotations", missing, fixture.Slide]);
        Assert.Equal(66, code); // a file given that is not there: no input, by the README's table
        Assert.Contains($"error: --annotations {missing}: no such ASAP XML file or folder", output, StringComparison.Ordinal);
    }

    [Fact]
    public void An_image_config_refuses_an_encoder_whatever_the_input()
    {
        var config = RepositoryFiles.Path("configs/mnist-small.yml");
        var weights = fixture.File("mnist.pt");
        using (var net = new IpsNet(ConfigLoader.Load(config)))
        {
            StateDictIO.Save(net, weights);
        }
        var (code, output) = CommandLineTests.Ips(["predict", "-c", config, "-w", weights, "--encoder", fixture.Encoder, fixture.Features]);
        Assert.Equal(1, code);
        Assert.Contains($"error: --encoder {fixture.Encoder}: a tile encoder is for feature configs (is_image: false); config mnist-small.yml has is_image: true", output, StringComparison.Ordinal);
    }

    [Fact]
    public void A_slide_reached_through_a_linked_folder_and_a_link_with_a_space_and_umlauts_predicts_as_the_file_itself()
    {
        var folder = fixture.File("Gewebe ß");
        Directory.CreateDirectory(folder);
        var linked = Path.Combine(folder, "tumor ä 01.tif");
        File.CreateSymbolicLink(linked, fixture.Slide);
        var linkedFolder = fixture.File("kohorte link");
        Directory.CreateSymbolicLink(linkedFolder, folder);

        var direct = PredictJson(fixture.File("direct.json"), "-w", fixture.Weights, "--encoder", fixture.Encoder, fixture.Slide);
        var through = PredictJson(fixture.File("linked ö.json"), "-w", fixture.Weights, "--encoder", fixture.Encoder, Path.Combine(linkedFolder, "tumor ä 01.tif"));

        Assert.Equal(direct.GetProperty("patch_count").GetInt32(), through.GetProperty("patch_count").GetInt32());
        Assert.Equal(Indices(direct), Indices(through));
        Assert.Equal(Probability(direct), Probability(through));
    }
}
