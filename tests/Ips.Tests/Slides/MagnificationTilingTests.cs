using System.Security.Cryptography;
using System.Text.Json;
using Ips.Cli;
using Ips.Encoders;
using Ips.Features;
using Ips.Imaging;
using Ips.IO;
using Ips.Slides;
using Ips.Slides.TileSets;
using Ips.Slides.Tiling;
using Ips.Tests.Cli;
using PureHDF;
using static TorchSharp.torch;

namespace Ips.Tests.Slides;

/// <summary>
/// Tiles at a resolution (<c>ips slides tile --mpp / --magnification</c>) on a generated slide of 0.25 um/px at level 0
/// with levels at 0.5 and 1.0: a resolution a level has is that level's pixels exactly (checked against the pixels
/// openslide-python reads, a committed fixture), one between levels is the finer level resized with an antialiased
/// filter (checked against libtorch's antialiased bilinear interpolation), and features, the stale-tiling checks and the
/// errors follow the coordinates file.
/// </summary>
[Collection(nameof(ConsoleOutput))]
public sealed class MagnificationTilingTests : IDisposable
{
    private const string Name = "mpp_001";
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    private static JsonElement Golden { get; } = JsonDocument.Parse(File.ReadAllText(SlideTestFiles.Fixture("mpp-golden.json"))).RootElement;

    /// <summary>
    /// The fixture's slide: 896 x 896 LZW, levels 896, 448, 224. Fixtures/write_mpp_slide.cs writes the same file for
    /// make_mpp_golden.py; with <paramref name="mpp"/> null the file records no resolution.
    /// </summary>
    private string WriteMppSlide(double? mpp = 0.25, string folder = "slides")
    {
        var path = _files.File(Path.Combine(folder, Name + ".tif"));
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        SlideTestFiles.WriteMppSlide(path, mpp);
        return path;
    }

    private (TileCoords Coords, string Folder) Tile(string slide, string outName, params string[] options)
    {
        var folder = _files.File(outName);
        var (code, output) = CommandLineTests.Ips(["slides", "tile", slide, "--out", folder, "--plain", .. options]);
        Assert.True(code == 0, $"ips slides tile exited {code}:\n{output}");
        return (TileCoordsFile.Read(Path.Combine(folder, Name + ".h5")), folder);
    }

    // The golden level 1 as openslide-python read it, [3, 448, 448] in [0, 1].
    private static Tensor GoldenLevel1() => ImageFile.Load(SlideTestFiles.Fixture("mpp-level1.png"), channels: 3);

    [Fact]
    public void Tiles_at_0_5_um_are_the_pixels_of_the_0_5_um_level_as_openslide_python_reads_them()
    {
        var slide = WriteMppSlide();
        using (var stream = File.OpenRead(slide))
        {
            Assert.True(Convert.ToHexStringLower(SHA256.HashData(stream)) == Golden.GetProperty("slide_sha256").GetString(),
                "the generated slide differs from the fixture's; regenerate it with tests/Ips.Tests/Slides/Fixtures/make_mpp_golden.sh");
        }
        var (coords, folder) = Tile(slide, "tiles", "--mpp", "0.5", "--tile-size", "224");

        Assert.Equal((1, 224), (coords.Info.PatchLevel, coords.Info.PatchSize));
        Assert.Equal<(double?, double?, double?)>((0.5, 0.25, 40.0), (coords.Info.TargetMpp, coords.Info.Level0Mpp, coords.Info.Level0Magnification));
        Assert.Null(coords.Info.TargetMagnification);
        using (var file = H5File.OpenRead(Path.Combine(folder, Name + ".h5")))
        {
            Assert.Equal(448, file.Dataset("coords").Attribute("patch_size_level0").Read<int>());
        }
        // Every 448-pixel cell of level 0 holds tissue: the 2 x 2 grid of level 1.
        Assert.Equal(4, coords.Count);

        using var golden = GoldenLevel1();
        using var tiles = new SlideTiles(Path.Combine(folder, Name + ".h5"), slide);
        for (int i = 0; i < coords.Count; i++)
        {
            int x = coords.Coords[i, 0] / 2, y = coords.Coords[i, 1] / 2;
            using var tile = tiles.Load(i);
            using var expected = golden[.., TensorIndex.Slice(y, y + 224), TensorIndex.Slice(x, x + 224)];
            Assert.True((tile - expected).abs().max().item<float>() == 0, $"tile {i} at ({coords.Coords[i, 0]}, {coords.Coords[i, 1]}) differs from openslide-python's level 1");
        }
    }

    [Fact]
    public void Features_of_tiles_at_0_5_um_equal_the_encoder_on_openslide_python_s_pixels_and_a_new_resolution_is_refused()
    {
        var slide = WriteMppSlide();
        var (coords, folder) = Tile(slide, "tiles", "--mpp", "0.5", "--tile-size", "224");
        var encoderPath = _files.File("resnet18.pth");
        manual_seed(5);
        using (var backbone = new ResNetBackbone("resnet18"))
        {
            StateDictIO.Save(backbone, encoderPath);
        }
        var features = _files.File("features");
        var (code, output) = CommandLineTests.Ips("slides", "features", slide, "--coords", folder, "--encoder", encoderPath, "--out", features, "--plain");
        Assert.True(code == 0, $"ips slides features exited {code}:\n{output}");

        using (var scope = NewDisposeScope())
        using (var golden = GoldenLevel1())
        using (var encoder = TileEncoder.Open(encoderPath, "auto", CPU))
        using (var stored = Hdf5FeatureSource.OpenSlideFile(Path.Combine(features, Name + ".h5")))
        {
            var crops = stack(Enumerable.Range(0, coords.Count).Select(i =>
                golden[.., TensorIndex.Slice(coords.Coords[i, 1] / 2, coords.Coords[i, 1] / 2 + 224), TensorIndex.Slice(coords.Coords[i, 0] / 2, coords.Coords[i, 0] / 2 + 224)]));
            using var _ = no_grad();
            var expected = encoder.Encode(crops);
            var actual = stored.Read(0, coords.Count);
            Assert.True(allclose(actual, expected, rtol: 1e-4, atol: 1e-5), $"max difference {(actual - expected).abs().max().item<float>()}");
        }
        var provenance = FeatureProvenance.Read(Path.Combine(features, Name + ".h5"))!;
        Assert.Equal<(double?, double?, double?)>((0.5, 0.25, 40.0), (provenance.Tiling.TargetMpp, provenance.Tiling.Level0Mpp, provenance.Tiling.Level0Magnification));

        // The same folder asked for another resolution: slides tile refuses to mix them, slides features to reuse features.
        (code, output) = SlidesTileCommandTests.Ips("slides", "tile", slide, "--out", folder, "--mpp", "0.4", "--tile-size", "224", "--plain");
        Assert.Equal(1, code);
        Assert.Contains("already holds tiles cut with 0.5 um/px (level 0: 0.25 um/px), tile size 224", output, StringComparison.Ordinal);
        var (_, other) = Tile(slide, "tiles-0.4", "--mpp", "0.4", "--tile-size", "224");
        (code, output) = CommandLineTests.Ips("slides", "features", slide, "--coords", other, "--encoder", encoderPath, "--out", features, "--plain");
        Assert.Equal(1, code);
        Assert.Contains("holds features of tiles cut with 0.5 um/px", output, StringComparison.Ordinal);
        Assert.Contains("not with 0.4 um/px", output, StringComparison.Ordinal);
    }

    [Fact]
    public void A_resolution_between_levels_reads_the_finer_level_resized_as_libtorch_s_antialiased_bilinear_does()
    {
        var slide = WriteMppSlide();
        // 0.4 um/px: level 0 (0.25) is the coarsest at least as fine; a tile spans 112 x 1.6 = 179.2 -> 179 of its pixels.
        var (coords, folder) = Tile(slide, "tiles", "--mpp", "0.4", "--tile-size", "112");
        Assert.Equal((0, 112), (coords.Info.PatchLevel, coords.Info.PatchSize));
        Assert.True(coords.Count > 4, $"{coords.Count} tiles");

        using var opened = SlideOpener.Open(slide);
        using var tiles = new SlideTiles(Path.Combine(folder, Name + ".h5"), slide);
        foreach (int i in new[] { 0, coords.Count / 2, coords.Count - 1 })
        {
            using var scope = NewDisposeScope();
            var region = opened.ReadRegion(0, coords.Coords[i, 0], coords.Coords[i, 1], 179, 179);
            var source = tensor(region, [1, 179, 179, 3]).permute(0, 3, 1, 2).to(ScalarType.Float32); // [1, 3, 179, 179]
            var expected = nn.functional.interpolate(source, [112, 112], mode: InterpolationMode.Bilinear, align_corners: false, antialias: true)[0].round();
            var actual = (tiles.Load(i) * 255).round();
            var difference = (actual - expected).abs();
            Assert.True(difference.max().item<float>() <= 1, $"tile {i}: max difference {difference.max().item<float>()} grey levels");
            // Off by one only where the exact value sits on a rounding boundary.
            Assert.True(difference.mean().item<float>() < 0.01, $"tile {i}: mean difference {difference.mean().item<float>()}");
        }
    }

    [Fact]
    public void A_magnification_picks_the_same_tiles_as_its_microns_per_pixel()
    {
        var slide = WriteMppSlide();
        var (byMpp, _) = Tile(slide, "mpp", "--mpp", "0.5", "--tile-size", "224");
        var (byMagnification, _) = Tile(slide, "magnification", "--magnification", "20", "--tile-size", "224");
        Assert.Equal((1, 224), (byMagnification.Info.PatchLevel, byMagnification.Info.PatchSize));
        Assert.Equal<(double?, double?)>((20.0, 40.0), (byMagnification.Info.TargetMagnification, byMagnification.Info.Level0Magnification));
        Assert.Null(byMagnification.Info.TargetMpp);
        Assert.Equal(byMpp.Coords, byMagnification.Coords);
    }

    [Theory]
    [InlineData(2.0, 1, 224)] // a level's own resolution
    [InlineData(2.018, 1, 224)] // within 1 % coarser than level 1: counts as level 1, no resize
    [InlineData(1.985, 1, 224)] // within 1 % finer than level 1: still level 1, never the finer level 0
    [InlineData(1.6, 0, 358)] // between levels 0 and 1: level 0, 224 x 1.6 = 358.4 pixels
    [InlineData(4.5, 2, 252)] // coarser than the last level: the last level, 224 x 1.125
    [InlineData(0.995, 0, 224)] // within 1 % finer than level 0
    public void The_level_read_is_the_coarsest_at_least_as_fine_as_the_target(double downsample, int level, int region)
    {
        SlideLevel[] levels = [new(896, 896, 1), new(448, 448, 2), new(224, 224, 4)];
        Assert.Equal(new TileSampling(level, region, 224), TileSampling.ForDownsample(levels, downsample, 224));
    }

    [Fact]
    public void A_target_finer_than_level_0_is_refused_since_tiles_are_never_upsampled()
    {
        SlideLevel[] levels = [new(896, 896, 1), new(448, 448, 2)];
        var error = Assert.Throws<ArgumentException>(() => TileSampling.ForDownsample(levels, 0.98, 224));
        Assert.Contains("never upsampled", error.Message, StringComparison.Ordinal);

        var slide = WriteMppSlide();
        var (code, output) = SlidesTileCommandTests.Ips("slides", "tile", slide, "--out", _files.File("tiles"), "--mpp", "0.2", "--plain");
        Assert.Equal(1, code);
        Assert.Contains($"{Name}.tif: --mpp 0.2: the target resolution is 1.25x finer than level 0; tiles are never upsampled", output, StringComparison.Ordinal);
    }

    [Fact]
    public void A_slide_without_microns_per_pixel_names_the_slide_and_mpp_level0_which_then_tiles_it()
    {
        var slide = WriteMppSlide(mpp: null);
        var folder = _files.File("tiles");
        var (code, output) = SlidesTileCommandTests.Ips("slides", "tile", slide, "--out", folder, "--mpp", "0.5", "--tile-size", "224", "--plain");
        Assert.Equal(1, code);
        Assert.Contains($"{slide}: --mpp needs the slide's microns per pixel, which the file does not record", output, StringComparison.Ordinal);
        Assert.Contains("give it with --mpp-level0 X", output, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(folder, Name + ".h5")));

        var (coords, _) = Tile(slide, "tiles-given", "--mpp", "0.5", "--tile-size", "224", "--mpp-level0", "0.25");
        Assert.Equal<(int, double?, int)>((1, 0.25, 4), (coords.Info.PatchLevel, coords.Info.Level0Mpp, coords.Count));
    }

    [Theory]
    [InlineData("--mpp 0.5 --level 1", "--level cuts tiles at a pyramid level, --mpp and --magnification at a resolution; give one of them")]
    [InlineData("--magnification 20 --level 0", "--level cuts tiles at a pyramid level")]
    [InlineData("--mpp 0.5 --magnification 20", "--mpp and --magnification both ask for the tiles' resolution; give one of them")]
    [InlineData("--mpp 0", "--mpp must be a positive number, got 0")]
    [InlineData("--mpp -0.5", "--mpp must be a positive number, got -0.5")]
    [InlineData("--magnification 0", "--magnification must be a positive number, got 0")]
    [InlineData("--mpp 0.5 --mpp-level0 0", "--mpp-level0 must be a positive number, got 0")]
    [InlineData("--mpp-level0 0.25", "--mpp-level0 only serves --mpp or --magnification")]
    public void Contradicting_or_non_positive_resolution_options_are_usage_errors_before_any_slide_opens(string options, string message)
    {
        var folder = _files.File("tiles");
        var (code, output) = CommandLineTests.Ips(["slides", "tile", _files.File("no-such-slide.tif"), "--out", folder, .. options.Split(' ')]);
        Assert.True(code == 64, $"exit {code}:\n{output}");
        Assert.Contains(message, output, StringComparison.Ordinal);
        Assert.False(Directory.Exists(folder));
    }
}
