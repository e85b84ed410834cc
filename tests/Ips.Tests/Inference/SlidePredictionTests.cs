using Ips.Data.Camelyon16;
using Ips.IO;
using Ips.Imaging;
using Ips.Inference;
using Ips.Modeling;
using Ips.Slides;
using Ips.Slides.Tiling;
using Ips.Tests.Modeling;
using Ips.Tests.Slides;
using SkiaSharp;
using static TorchSharp.torch;

namespace Ips.Tests.Inference;

public sealed class SlidePredictionTests : IDisposable
{
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public void Predict_runs_IPS_on_a_slide_from_disk_and_draws_the_attention_over_its_thumbnail()
    {
        var content = new RectangleContent(1200, 900, (100, 600, 150, 500), (800, 1100, 600, 850));
        var slidePath = _files.File("normal_007.tif");
        PyramidalTiffWriter.Write(slidePath, content, new SlideWriteOptions { Compression = SlideCompression.Lzw, TileSize = 128, SmallestLevelSize = 300 });
        var config = ModelFixtures.SmallImageConfig() with { NChanIn = 3, UsePos = false, PatchSize = [64, 64], PatchStride = [64, 64], M = 5, I = 8 };
        var weights = _files.File("model.pt");
        using (var net = new IpsNet(config))
        {
            StateDictIO.Save(net, weights);
        }

        // The tiles the prediction must have run on: tissue tiles of 64 pixels at level 1 (128 level-0 pixels).
        TileSet expected;
        using (var slide = SlideOpener.Open(slidePath))
        {
            var options = new TilingOptions { Level = 1, TileSize = 64 };
            expected = SlideTiler.Tile(slide, options, SlideTiler.Threshold(slide, 1));
        }
        Assert.InRange(expected.Count, config.M + 1, 200);

        using var predictor = new Predictor(config, weights, CPU) { SlideOptions = new SlideInputOptions { Level = 1 } };
        var maps = _files.File("maps");
        var prediction = predictor.Predict(slidePath, maps);

        Assert.Equal(expected.Count, prediction.PatchCount);
        Assert.Equal(config.M, prediction.Selected.Count);
        var tiles = expected.X.Zip(expected.Y).ToList();
        Assert.All(prediction.Selected, p =>
        {
            Assert.Equal(tiles[(int)p.Index], (p.Box!.Value.X, p.Box.Value.Y));
            Assert.Equal(128, p.Box.Value.Width);
        });
        Assert.All(prediction.Probabilities["majority"], p => Assert.InRange(p, 0f, 1f));

        // The picture frames the thumbnail (1024 px wide here, the slide's level 0 being 1200) with the selected tiles
        // outlined in magenta.
        Assert.Equal(Path.Combine(maps, "normal_007.attention.png"), prediction.AttentionMap);
        using var picture = SKBitmap.Decode(prediction.AttentionMap);
        Assert.Equal(1024 + 2 * PictureFrame.BodyLeft, picture.Width);
        var first = prediction.Selected[0].Box!.Value;
        double scale = 1024.0 / 1200;
        Assert.Equal(new SKColor(255, 0, 255), picture.GetPixel(PictureFrame.BodyLeft + (int)(first.X * scale), PictureFrame.BodyTop + (int)(first.Y * scale)));
    }
}
