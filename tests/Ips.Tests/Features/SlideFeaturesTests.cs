using Ips.Cli;
using Ips.Configuration;
using Ips.Data.Camelyon16;
using Ips.Encoders;
using Ips.Features;
using Ips.IO;
using Ips.Modeling;
using Ips.Patches;
using Ips.Selection;
using Ips.Slides;
using Ips.Slides.Tiling;
using Ips.Tests.Slides;
using static TorchSharp.torch;

namespace Ips.Tests.Features;

/// <summary>
/// The mini cohort's feature chain: a generated pyramidal TIFF slide, tiled by <c>ips slides tile</c>, embedded by
/// <c>ips slides features</c> with a ResNet-18 (random weights in torchvision layout, to stay fast), then IPS on the
/// stored features against IPS on the slide through an encoded source.
/// </summary>
[Collection(nameof(ConsoleOutput))]
public sealed class SlideFeaturesTests : IDisposable
{
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    private static readonly RectangleContent Tissue = new(1400, 1000, (100, 1300, 100, 900));

    /// <summary>One slide, its tile coordinates (256-pixel tiles at level 0) and a resnet18 encoder file.</summary>
    private (string Slide, string Coords, string Encoder) Prepare()
    {
        var slide = _files.File(Path.Combine("slides", "normal_001.tif"));
        Directory.CreateDirectory(Path.GetDirectoryName(slide)!);
        PyramidalTiffWriter.Write(slide, Tissue, new SlideWriteOptions { Compression = SlideCompression.Lzw, TileSize = 128, SmallestLevelSize = 400 });
        var coords = _files.File("coords");
        Assert.Equal(0, CliApp.Create().Run(["slides", "tile", slide, "--out", coords, "--tile-size", "256", "--plain"]));
        var encoder = _files.File("resnet18.pth");
        TorchSharp.torch.manual_seed(5);
        using (var backbone = new ResNetBackbone("resnet18"))
        {
            StateDictIO.Save(backbone, encoder);
        }
        return (slide, coords, encoder);
    }

    [Fact]
    public void An_extracted_vector_equals_the_encoder_on_the_tile_read_by_hand_and_a_rerun_skips_the_slide()
    {
        var (slide, coords, encoderPath) = Prepare();
        var features = _files.File("features");
        Assert.Equal(0, CliApp.Create().Run(["slides", "features", slide, "--coords", coords, "--encoder", encoderPath, "--out", features, "--batch-size", "3", "--gzip"]));

        var output = Path.Combine(features, "normal_001.h5");
        var tiles = TileCoordsFile.Read(Path.Combine(coords, "normal_001.h5"));
        using (var stored = Hdf5FeatureSource.OpenSlideFile(output))
        {
            Assert.Equal(tiles.Count, stored.Count);
            Assert.True(tiles.Count >= 8, $"{tiles.Count} tiles");
            Assert.Equal(new long[] { 512 }, stored.PatchShape);
            var storedCoords = stored.ReadCoords()!;
            Assert.Equal(tiles.Coords[4, 0], storedCoords[4, 0]);
            Assert.Equal(tiles.Coords[4, 1], storedCoords[4, 1]);

            // Tile 4 by hand: read the region, scale to [0, 1], centre-crop 256 -> 224 (offset 16), ImageNet-normalise, encode.
            using var opened = SlideOpener.Open(slide);
            var rgb = opened.ReadRegion(0, tiles.Coords[4, 0], tiles.Coords[4, 1], 256, 256);
            using var backbone = new ResNetBackbone("resnet18");
            StateDictIO.Load(backbone, encoderPath);
            backbone.eval();
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            var pixels = tensor(rgb, [256, 256, 3]).permute(2, 0, 1).to(ScalarType.Float32).div(255)[TensorIndex.Ellipsis, TensorIndex.Slice(16, 240), TensorIndex.Slice(16, 240)];
            var normalised = (pixels - tensor(ImageNetNormalisation.Mean).view(3, 1, 1)) / tensor(ImageNetNormalisation.Std).view(3, 1, 1);
            var expected = backbone.call(normalised.unsqueeze(0))[0];
            var row = stored.Gather([4])[0];
            Assert.True(allclose(row, expected, rtol: 1e-4, atol: 1e-5), $"max difference {(row - expected).abs().max().item<float>()}");
        }

        var written = File.GetLastWriteTimeUtc(output);
        var console = new StringWriter();
        var previous = Console.Out;
        Console.SetOut(console);
        try
        {
            Assert.Equal(0, CliApp.Create().Run(["slides", "features", Path.GetDirectoryName(slide)!, "--coords", coords, "--encoder", encoderPath, "--out", features]));
        }
        finally
        {
            Console.SetOut(previous);
        }
        Assert.Contains("normal_001: done before, skipped", console.ToString(), StringComparison.Ordinal);
        Assert.Equal(written, File.GetLastWriteTimeUtc(output));
    }

    [Fact]
    public void Ips_on_the_slide_through_the_encoder_equals_ips_on_the_extracted_features()
    {
        var (slide, coords, encoderPath) = Prepare();
        var features = _files.File("features");
        using var encoder = TileEncoder.Open(encoderPath, "auto", CPU);
        FeatureExtraction.ExtractSlide(slide, coords, features, encoder, batchSize: 5, workers: 2, gzip: false);

        var config = new IpsConfig
        {
            Source = "scaled-camelyon", IsImage = false, NChanIn = 512, D = 16, H = 2, DK = 4, DV = 4, DInner = 32, NToken = 1,
            M = 3, I = 2, Shuffle = false, NClass = 1,
            Tasks = [new TaskConfig { Key = "task0", Id = 0, Name = "metastases", ActFn = "sigmoid", Metric = "auc", NClass = 1 }],
        };
        TorchSharp.torch.manual_seed(3);
        using var net = new IpsNet(config);
        net.eval();
        var selector = new IterativePatchSelector(net);

        (long[] Indices, float Probability) Run(IPatchSource source)
        {
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            using var selection = selector.Select([source], CPU);
            var probability = net.call(selection.Patches, selection.PositionalEncoding)["metastases"].reshape(-1)[0].item<float>();
            return (selection.Indices[0].data<long>().ToArray(), probability);
        }

        using var stored = Hdf5FeatureSource.OpenSlideFile(Path.Combine(features, "normal_001.h5"));
        var tiles = TileCoordsFile.Read(Path.Combine(coords, "normal_001.h5"));
        var corners = Enumerable.Range(0, tiles.Count).Select(i => ((long)tiles.Coords[i, 0], (long)tiles.Coords[i, 1])).ToList();
        var read = new SlideTileSource(SlideOpener.Open(slide), tiles.Info.PatchLevel, tiles.Info.PatchSize, corners, ownsSlide: true);
        using var onTheFly = new EncodedPatchSource(read, encoder, batchSize: 4);
        Assert.Equal(stored.Count, onTheFly.Count);
        var fromFile = Run(stored);
        var fromSlide = Run(onTheFly);

        Assert.Equal(fromFile.Indices, fromSlide.Indices);
        Assert.InRange(Math.Abs(fromFile.Probability - fromSlide.Probability), 0, 1e-5);
    }
}
