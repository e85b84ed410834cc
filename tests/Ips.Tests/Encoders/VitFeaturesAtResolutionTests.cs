using System.Security.Cryptography;
using System.Text.Json;
using Ips.Features;
using Ips.IO;
using Ips.Slides.Tiling;
using Ips.Tests.Cli;
using Ips.Tests.Slides;

namespace Ips.Tests.Encoders;

/// <summary>
/// The end-to-end case: a generated slide of 0.25 um/px at level 0 with a level at 0.5, <c>slides tile --mpp 0.5
/// --tile-size 224</c>, then <c>slides features --encoder DIR</c> with a timm folder (H-optimus' layout at a small size,
/// random weights, H-optimus' non-ImageNet mean and std in <c>pretrained_cfg</c>) must give the features that the
/// reference of Fixtures/vit/make_slide_vit_fixture.py computed on the same tiles as openslide-python read them at the
/// 0.5 um/px level (Slides/Fixtures/mpp-level1.png): relative max difference below 1e-4.
/// </summary>
[Collection(nameof(ConsoleOutput))]
public sealed class VitFeaturesAtResolutionTests : IDisposable
{
    private const string Name = "mpp_001";
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public void Features_of_tiles_at_0_5_um_equal_the_reference_on_openslide_python_s_pixels()
    {
        var slide = _files.File(Path.Combine("slides", Name + ".tif"));
        Directory.CreateDirectory(Path.GetDirectoryName(slide)!);
        SlideTestFiles.WriteMppSlide(slide);
        using (var golden = JsonDocument.Parse(File.ReadAllText(SlideTestFiles.Fixture("mpp-golden.json"))))
        using (var stream = File.OpenRead(slide))
        {
            Assert.True(Convert.ToHexStringLower(SHA256.HashData(stream)) == golden.RootElement.GetProperty("slide_sha256").GetString(),
                "the generated slide differs from the fixture's; regenerate it with tests/Ips.Tests/Slides/Fixtures/make_mpp_golden.sh");
        }
        var tiles = _files.File("tiles");
        var (code, output) = CommandLineTests.Ips("slides", "tile", slide, "--out", tiles, "--mpp", "0.5", "--tile-size", "224", "--plain");
        Assert.True(code == 0, output);
        var encoder = VitFixtures.Folder("slide_0_5um");
        var features = _files.File("features");
        (code, output) = CommandLineTests.Ips("slides", "features", slide, "--coords", tiles, "--encoder", encoder, "--out", features, "--plain");
        Assert.True(code == 0, output);

        var coords = TileCoordsFile.Read(Path.Combine(tiles, Name + ".h5"));
        Assert.Equal((1, 224, 0.5), (coords.Info.PatchLevel, coords.Info.PatchSize, coords.Info.TargetMpp!.Value));
        var io = StateDictIO.ReadStateDict(Path.Combine(encoder, "io.pt"));
        using var referenceCoords = io["coords"];
        using var expected = io["output"];
        using var stored = Hdf5FeatureSource.OpenSlideFile(Path.Combine(features, Name + ".h5"));
        using var actual = stored.Read(0, coords.Count);
        Assert.Equal(new long[] { 4, 64 }, actual.shape);
        // The reference's tiles in the order of the coordinates file.
        var order = Enumerable.Range(0, coords.Count).Select(i => Enumerable.Range(0, (int)referenceCoords.shape[0]).Single(r =>
            referenceCoords[r, 0].item<long>() == coords.Coords[i, 0] && referenceCoords[r, 1].item<long>() == coords.Coords[i, 1])).ToArray();
        using var reordered = expected[TorchSharp.torch.tensor(order.Select(i => (long)i).ToArray())];
        double difference = VitFixtures.RelativeMaxDifference(actual, reordered);
        Assert.True(difference < 1e-4, $"relative max difference {difference:E2}");

        var recorded = FeatureProvenance.Read(Path.Combine(features, Name + ".h5"))!.Encoder;
        Assert.Equal(("token", 64, 224), (recorded.Pool, recorded.Width, recorded.InputSize));
        Assert.Equal([0.707223f, 0.578729f, 0.703617f], recorded.Mean!);
        Assert.Equal([0.211883f, 0.230117f, 0.177517f], recorded.Std!);
    }
}
