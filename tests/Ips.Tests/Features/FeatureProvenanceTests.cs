using Ips.Configuration;
using Ips.Data.Camelyon16;
using Ips.Encoders;
using Ips.Features;
using Ips.IO;
using Ips.Modeling;
using Ips.Tests.Cli;
using Ips.Tests.Slides;
using PureHDF;
using static TorchSharp.torch;

namespace Ips.Tests.Features;

/// <summary>
/// Feature files that know where they came from (slide, tiling, encoder by SHA-256, ips version), a folder of another
/// encoder's features refused rather than reused, packs of one encoder only, and NaN or infinity stopped where it
/// first appears: at the tile the encoder gave it for, or at the row of the file that holds it.
/// </summary>
[Collection(nameof(ConsoleOutput))]
public sealed class FeatureProvenanceTests : IDisposable
{
    private static readonly RectangleContent Tissue = new(1400, 1000, (100, 1300, 100, 900));

    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public void A_feature_file_records_its_provenance_and_another_encoder_is_refused_unless_overwrite()
    {
        var (slide, coords) = SlideAndCoords();
        var first = Encoder("resnet18.pth", seed: 5);
        var second = Encoder("other.pth", seed: 6);
        var features = _files.File("features");
        Ok("slides", "features", slide, "--coords", coords, "--encoder", first, "--out", features, "--batch-size", "4");

        var output = Path.Combine(features, "normal_001.h5");
        using (var file = H5File.OpenRead(output))
        {
            Assert.Equal("normal_001.tif", file.Attribute("slide").Read<string>());
            Assert.Equal(new FileInfo(slide).Length, file.Attribute("slide_bytes").Read<long>());
            Assert.Equal(0, file.Attribute("patch_level").Read<int>());
            Assert.Equal(256, file.Attribute("patch_size").Read<int>());
            Assert.Equal(0, file.Attribute("overlap").Read<int>());
            Assert.Equal("resnet18.pth", file.Attribute("encoder").Read<string>());
            Assert.Equal(Sha256(first), file.Attribute("encoder_sha256").Read<string>());
            Assert.Equal("imagenet", file.Attribute("encoder_normalisation").Read<string>());
            Assert.Equal(ImageNetNormalisation.Mean, file.Attribute("encoder_mean").Read<float[]>());
            Assert.Equal(ImageNetNormalisation.Std, file.Attribute("encoder_std").Read<float[]>());
            Assert.Equal(224, file.Attribute("encoder_input_size").Read<int>());
            Assert.Equal(512, file.Attribute("feature_dim").Read<int>());
            Assert.False(string.IsNullOrEmpty(file.Attribute("ips_version").Read<string>()));
            // The CLAM/TRIDENT layout is what it was.
            Assert.Equal(new ulong[] { (ulong)TileCount(coords), 512 }, file.Dataset("features").Space.Dimensions);
            Assert.Equal("imagenet", file.Dataset("coords").Attribute("encoder_normalisation").Read<string>());
        }
        var written = File.ReadAllBytes(output);

        var (code, text) = CommandLineTests.Ips(["slides", "features", slide, "--coords", coords, "--encoder", second, "--out", features]);
        Assert.Equal(1, code);
        var error = Assert.Single(text.Split('\n'), line => line.StartsWith("error:", StringComparison.Ordinal));
        Assert.Contains(output, error, StringComparison.Ordinal);
        Assert.Contains($"resnet18.pth (sha256 {Sha256(first)[..12]}", error, StringComparison.Ordinal);
        Assert.Contains($"other.pth (sha256 {Sha256(second)[..12]}", error, StringComparison.Ordinal);
        Assert.Contains("--overwrite", error, StringComparison.Ordinal);
        Assert.Equal(written, File.ReadAllBytes(output));

        Ok("slides", "features", slide, "--coords", coords, "--encoder", second, "--out", features, "--overwrite");
        Assert.Equal(Sha256(second), FeatureProvenance.Read(output)!.Encoder.Sha256);
        // The same encoder again keeps the file, --overwrite or not.
        var redone = File.ReadAllBytes(output);
        Ok("slides", "features", slide, "--coords", coords, "--encoder", second, "--out", features, "--overwrite");
        Assert.Equal(redone, File.ReadAllBytes(output));
    }

    [Fact]
    public void Features_of_tiles_cut_otherwise_are_refused_naming_both_tilings()
    {
        var (slide, coords) = SlideAndCoords();
        var encoder = Encoder("resnet18.pth", seed: 5);
        var features = _files.File("features");
        Ok("slides", "features", slide, "--coords", coords, "--encoder", encoder, "--out", features);
        var overlapping = _files.File("overlapping");
        Ok("slides", "tile", slide, "--out", overlapping, "--tile-size", "256", "--overlap", "128", "--plain");

        var (code, text) = CommandLineTests.Ips(["slides", "features", slide, "--coords", overlapping, "--encoder", encoder, "--out", features]);
        Assert.Equal(1, code);
        Assert.Contains("holds features of tiles cut with level 0, tile size 256, overlap 0,", text, StringComparison.Ordinal);
        Assert.Contains("not with level 0, tile size 256, overlap 128,", text, StringComparison.Ordinal);
    }

    [Fact]
    public void A_feature_file_that_records_no_encoder_is_refused_not_reused()
    {
        var (slide, coords) = SlideAndCoords();
        var encoder = Encoder("resnet18.pth", seed: 5);
        var features = _files.File("features");
        Directory.CreateDirectory(features);
        var old = Path.Combine(features, "normal_001.h5");
        var count = TileCount(coords);
        using (var rows = ones(count, 512))
        {
            Hdf5FeatureWriter.WriteSlideFile(old, rows, new long[count, 2], gzip: false);
        }

        var (code, text) = CommandLineTests.Ips(["slides", "features", slide, "--coords", coords, "--encoder", encoder, "--out", features]);
        Assert.Equal(1, code);
        Assert.Contains($"error: {old}: records no encoder", text, StringComparison.Ordinal);
        Assert.Null(FeatureProvenance.Read(old));

        Ok("slides", "features", slide, "--coords", coords, "--encoder", encoder, "--out", features, "--overwrite");
        Assert.Equal(Sha256(encoder), FeatureProvenance.Read(old)!.Encoder.Sha256);
    }

    [Fact]
    public void An_encoder_that_gives_nan_fails_the_slide_naming_the_tile_and_writes_nothing()
    {
        var (slide, coords) = SlideAndCoords();
        var encoder = _files.File("nan.pth");
        using (var backbone = new ResNetBackbone("resnet18"))
        {
            using (no_grad())
            {
                foreach (var parameter in backbone.parameters())
                {
                    parameter.fill_(float.NaN);
                }
            }
            StateDictIO.Save(backbone, encoder);
        }
        var features = _files.File("features");
        var (code, _) = CommandLineTests.Ips(["slides", "features", slide, "--coords", coords, "--encoder", encoder, "--out", features]);

        Assert.Equal(1, code);
        var first = Ips.Slides.Tiling.TileCoordsFile.Read(Path.Combine(coords, "normal_001.h5"));
        // The slide's error line (printed by the command) is what its failure record holds.
        Assert.Equal(
            $"{slide}: encoder nan.pth gives NaN or infinite features for the tile at level-0 x={first.Coords[0, 0]}, y={first.Coords[0, 1]} (tile 0 of {first.Count}); no feature file was written for this slide",
            FailureRecord.Read(features, "normal_001")?.Message);
        // No feature file, only the failure record a rerun retries.
        Assert.Equal(["normal_001.failed"], Directory.GetFiles(features).Select(Path.GetFileName));
    }

    [Fact]
    public void Pack_refuses_two_encoders_and_records_the_one_it_packs()
    {
        var (slide, coords) = SlideAndCoords();
        var first = Encoder("resnet18.pth", seed: 5);
        var second = Encoder("other.pth", seed: 6);
        var features = _files.File("features");
        var others = _files.File("others");
        Ok("slides", "features", slide, "--coords", coords, "--encoder", first, "--out", features);
        Ok("slides", "features", slide, "--coords", coords, "--encoder", second, "--out", others);
        var labels = _files.File("labels.csv");
        File.WriteAllLines(labels, ["slide_id,label", "normal_001,0", "tumor_001,1"]);

        File.Copy(Path.Combine(features, "normal_001.h5"), Path.Combine(features, "tumor_001.h5"));
        var packed = _files.File("packed.hdf5");
        Ok("slides", "pack", features, "--labels", labels, "--out", packed);
        using (var file = H5File.OpenRead(packed))
        {
            Assert.Equal("resnet18.pth", file.Attribute("encoder").Read<string>());
            Assert.Equal(Sha256(first), file.Attribute("encoder_sha256").Read<string>());
            Assert.Equal(512, file.Attribute("feature_dim").Read<int>());
            Assert.Equal(1, file.Group("tumor_001").Attribute("label").Read<long>());
        }

        File.Copy(Path.Combine(others, "normal_001.h5"), Path.Combine(features, "tumor_001.h5"), overwrite: true);
        var mixed = _files.File("mixed.hdf5");
        var (code, text) = CommandLineTests.Ips(["slides", "pack", features, "--labels", labels, "--out", mixed]);
        Assert.Equal(1, code);
        var error = Assert.Single(text.Split('\n'), line => line.StartsWith("error:", StringComparison.Ordinal));
        Assert.Contains("slide normal_001", error, StringComparison.Ordinal);
        Assert.Contains("slide tumor_001", error, StringComparison.Ordinal);
        Assert.Contains("resnet18.pth", error, StringComparison.Ordinal);
        Assert.Contains("other.pth", error, StringComparison.Ordinal);
        Assert.False(File.Exists(mixed));
    }

    [Fact]
    public void A_model_records_the_encoder_of_its_packed_features_and_predict_refuses_another()
    {
        var (slide, coords) = SlideAndCoords();
        var first = Encoder("resnet18.pth", seed: 5);
        var second = Encoder("other.pth", seed: 6);
        var features = _files.File("features");
        Ok("slides", "features", slide, "--coords", coords, "--encoder", first, "--out", features);
        File.Copy(Path.Combine(features, "normal_001.h5"), Path.Combine(features, "tumor_001.h5"));
        var labels = _files.File("labels.csv");
        File.WriteAllLines(labels, ["slide_id,label", "normal_001,0", "tumor_001,1"]);
        var data = _files.File("data");
        Ok("slides", "pack", features, "--labels", labels, "--out", Path.Combine(data, "packed.hdf5"));

        var run = _files.File("run");
        Ok(["train", "-c", RepositoryFiles.Path("configs/camelyon.yml"), "--run-dir", run, "--set", $"data_dir={data}",
            "--set", "train_fname=packed.hdf5", "--set", "test_fname=packed.hdf5", "--set", "n_chan_in=512", "--set", "D=8", "--set", "H=2",
            "--set", "D_k=4", "--set", "D_v=4", "--set", "D_inner=16", "--set", "M=3", "--set", "I=2", "--set", "B=2", "--set", "n_epoch=1",
            "--set", "n_epoch_warmup=0", "--set", "n_worker=1"]);
        var recorded = ConfigLoader.Load(Path.Combine(run, "config.yml"));
        Assert.Equal("resnet18.pth", recorded.FeatureEncoder);
        Assert.Equal(Sha256(first), recorded.FeatureEncoderSha256);

        var checkpoint = Path.Combine(run, "last.ckpt");
        var (code, text) = CommandLineTests.Ips(["predict", "-c", Path.Combine(run, "config.yml"), "-w", checkpoint, "--encoder", second, slide]);
        Assert.Equal(1, code);
        var error = Assert.Single(text.Split('\n'), line => line.StartsWith("error:", StringComparison.Ordinal));
        Assert.Contains($"--encoder {second}: is other.pth (sha256 {Sha256(second)[..12]})", error, StringComparison.Ordinal);
        Assert.Contains($"features of resnet18.pth (sha256 {Sha256(first)[..12]})", error, StringComparison.Ordinal);

        // Features of the other encoder are refused too: a slide's .h5 given to predict, a test split given to evaluate.
        var others = _files.File("others");
        Ok("slides", "features", slide, "--coords", coords, "--encoder", second, "--out", others);
        var otherFile = Path.Combine(others, "normal_001.h5");
        (code, text) = CommandLineTests.Ips(["predict", "-c", Path.Combine(run, "config.yml"), "-w", checkpoint, otherFile]);
        error = Assert.Single(text.Split('\n'), line => line.StartsWith("error:", StringComparison.Ordinal));
        Assert.True(code == 1 && error.StartsWith($"error: {otherFile} holds features of encoder other.pth (sha256 {Sha256(second)[..12]}", StringComparison.Ordinal), text);
        Assert.Contains($"the model was trained on features of resnet18.pth (sha256 {Sha256(first)[..12]})", error, StringComparison.Ordinal);
        File.Copy(otherFile, Path.Combine(others, "tumor_001.h5"));
        Ok("slides", "pack", others, "--labels", labels, "--out", Path.Combine(data, "other-test.hdf5"));
        (code, text) = CommandLineTests.Ips(["evaluate", "-c", Path.Combine(run, "config.yml"), "-w", checkpoint, "--set", "test_fname=other-test.hdf5"]);
        error = Assert.Single(text.Split('\n'), line => line.StartsWith("error:", StringComparison.Ordinal));
        Assert.True(code == 1 && error.Contains($"the test split of data_dir {data} holds features of encoder other.pth", StringComparison.Ordinal), text);
        Ok("predict", "-c", Path.Combine(run, "config.yml"), "-w", checkpoint, Path.Combine(features, "normal_001.h5"));
        Ok("evaluate", "-c", Path.Combine(run, "config.yml"), "-w", checkpoint);

        // The model's own encoder predicts; so does a config without the record given the state_dict alone.
        Ok("predict", "-c", Path.Combine(run, "config.yml"), "-w", checkpoint, "--encoder", first, slide);
        Ok("predict", "-c", RepositoryFiles.Path("configs/camelyon.yml"), "--set", "n_chan_in=512", "--set", "D=8", "--set", "H=2",
            "--set", "D_k=4", "--set", "D_v=4", "--set", "D_inner=16", "--set", "M=3", "--set", "I=2",
            "-w", Path.Combine(run, "best-model.pt"), "--encoder", second, slide);
    }

    [Fact]
    public void Nan_in_a_features_file_is_refused_by_pack_train_evaluate_and_predict_naming_file_group_and_row()
    {
        var data = _files.File("data");
        Directory.CreateDirectory(data);
        var good = Path.Combine(data, "normal_001.h5");
        var bad = Path.Combine(data, "tumor_001.h5");
        manual_seed(3);
        using (var rows = randn(20, 8))
        {
            Hdf5FeatureWriter.WriteSlideFile(good, rows, new long[20, 2], gzip: false);
            rows[13, 5] = tensor(float.NaN);
            Hdf5FeatureWriter.WriteSlideFile(bad, rows, new long[20, 2], gzip: true);
        }
        var labels = Path.Combine(data, "labels.csv");
        File.WriteAllLines(labels, ["slide_id,label", "normal_001,0", "tumor_001,1"]);

        var packed = Path.Combine(data, "packed.hdf5");
        var (code, text) = CommandLineTests.Ips(["slides", "pack", data, "--labels", labels, "--out", packed]);
        Assert.Equal(1, code);
        Assert.True(text.Contains($"error: {bad}: row 13 of 'features' holds NaN (column 5)", StringComparison.Ordinal), text);
        Assert.False(File.Exists(packed));

        // A packed file with the NaN row, as another tool might have written it.
        using (var goodSource = Hdf5FeatureSource.OpenSlideFile(good))
        using (var rows = goodSource.Read(0, 20))
        {
            rows[7, 2] = tensor(float.PositiveInfinity);
            using var badSource = Ips.Patches.TensorPatchSource.FromPatches(rows);
            Hdf5FeatureWriter.WriteSplitFile(packed, [new PackedSlide("normal_001", 0, goodSource, null), new PackedSlide("tumor_001", 1, badSource, null)], gzip: false);
        }
        string[] model =
        [
            "-c", RepositoryFiles.Path("configs/camelyon.yml"), "--set", $"data_dir={data}", "--set", "train_fname=packed.hdf5", "--set", "test_fname=packed.hdf5",
            "--set", "n_chan_in=8", "--set", "D=8", "--set", "H=2", "--set", "D_k=4", "--set", "D_v=4", "--set", "D_inner=16", "--set", "M=3", "--set", "I=2",
            "--set", "B=2", "--set", "n_epoch=1", "--set", "n_epoch_warmup=0", "--set", "n_worker=1",
        ];
        var expected = $"error: {packed}: row 7 of 'tumor_001/img' holds Infinity (column 2)";
        (code, text) = CommandLineTests.Ips(["train", .. model, "--run-dir", _files.File("run")]);
        Assert.True(code == 1 && text.Contains(expected, StringComparison.Ordinal), text);
        Assert.DoesNotContain("   at ", text, StringComparison.Ordinal);

        var weights = _files.File("model.pt");
        using (var net = new IpsNet(ConfigLoader.Load(model[1], [.. model.Skip(2).Where((_, i) => i % 2 == 1)])))
        {
            StateDictIO.Save(net, weights);
        }
        (code, text) = CommandLineTests.Ips(["evaluate", .. model, "-w", weights]);
        Assert.True(code == 1 && text.Contains(expected, StringComparison.Ordinal), text);

        (code, text) = CommandLineTests.Ips(["predict", .. model, "-w", weights, bad]);
        Assert.True(code == 1 && text.Contains($"error: {bad}: row 13 of 'features' holds NaN (column 5)", StringComparison.Ordinal), text);
    }

    private (string Slide, string Coords) SlideAndCoords()
    {
        var slide = _files.File(Path.Combine("slides", "normal_001.tif"));
        Directory.CreateDirectory(Path.GetDirectoryName(slide)!);
        PyramidalTiffWriter.Write(slide, Tissue, new SlideWriteOptions { Compression = SlideCompression.Lzw, TileSize = 128, SmallestLevelSize = 400 });
        var coords = _files.File("coords");
        Ok("slides", "tile", slide, "--out", coords, "--tile-size", "256", "--plain");
        return (slide, coords);
    }

    private string Encoder(string name, int seed)
    {
        var path = _files.File(name);
        manual_seed(seed);
        using var backbone = new ResNetBackbone("resnet18");
        StateDictIO.Save(backbone, path);
        return path;
    }

    private static int TileCount(string coords) => Ips.Slides.Tiling.TileCoordsFile.Read(Path.Combine(coords, "normal_001.h5")).Count;

    private static string Sha256(string path) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(path)));

    private static void Ok(params string[] args)
    {
        var (code, output) = CommandLineTests.Ips(args);
        Assert.True(code == 0, $"ips {string.Join(' ', args)}:\n{output}");
    }
}
