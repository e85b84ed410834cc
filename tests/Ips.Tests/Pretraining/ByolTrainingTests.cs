using Ips.Cli;
using Ips.Configuration;
using Ips.Data.Camelyon16;
using Ips.Encoders;
using Ips.IO;
using Ips.Pretraining;
using Ips.Slides;
using Ips.Slides.TileSets;
using Ips.Slides.Tiling;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Ips.Tests.Pretraining;

/// <summary>BYOL training end to end on generated tiles: the loss falls, resume is exact, the CLI writes the run.</summary>
[Collection(nameof(GlobalRandomState))]
public sealed class ByolTrainingTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public void Fifty_steps_on_a_few_hundred_tiny_tiles_lower_the_loss()
    {
        var tilesDir = _files.File("tiles");
        ByolTestData.WriteTiles(tilesDir, 400);
        using var tiles = TileInputs.Open([tilesDir]);
        // 400 tiles / 16 = 25 steps per epoch, 2 epochs = 50 steps. BYOL's base lr is tuned for batch 4096 and long
        // runs; a short run with batch 16 needs a larger one to move within 50 steps.
        var config = ByolTestData.TinyConfig(epochs: 2) with { BaseLr = 16 };
        using var trainer = new ByolTrainer(config, CPU);
        var losses = new List<double>();
        trainer.StepDone = p => losses.Add(p.Loss);

        Assert.True(trainer.Train(tiles));

        Assert.Equal(50, losses.Count);
        var first = losses.Take(5).Average();
        var last = losses.TakeLast(10).Average();
        output.WriteLine($"loss per step: {string.Join(" ", losses.Select(l => l.ToString("F3", System.Globalization.CultureInfo.InvariantCulture)))}");
        output.WriteLine($"mean of the first 5 steps {first:F4}, of the last 10 steps {last:F4}");
        Assert.True(last < 0.8 * first, $"loss did not fall: first 5 steps {first:F4}, last 10 {last:F4}");
    }

    [Fact]
    public void A_run_stopped_and_resumed_ends_with_the_same_weights_as_one_run_straight_through()
    {
        var tilesDir = _files.File("tiles");
        ByolTestData.WriteTiles(tilesDir, 32);
        using var tiles = TileInputs.Open([tilesDir]);
        // 32 tiles / 16 = 2 steps per epoch, 2 epochs; the first run stops after step 3, in the middle of epoch 2.
        var config = ByolTestData.TinyConfig(epochs: 2) with { BaseLr = 16, Tiles = [tilesDir] };

        using var straight = new ByolTrainer(config, CPU);
        Assert.True(straight.Train(tiles));

        var resumedDir = _files.File("resumed");
        using (var first = ByolRun.Start(resumedDir, config, CPU))
        {
            using var stop = new CancellationTokenSource();
            first.Progress = new SynchronousProgress<ByolProgress>(p =>
            {
                if (p.Step == 3) stop.Cancel();
            });
            Assert.False(first.Run(tiles, stop.Token));
            Assert.Equal(3, first.Trainer.Step);
        }
        using var resumed = ByolRun.Resume(resumedDir, CPU);
        Assert.Equal(3, resumed.Trainer.Step);
        Assert.True(resumed.Run(tiles));
        Assert.Equal(4, resumed.Trainer.Step);

        var expected = straight.Net.state_dict();
        foreach (var (key, value) in resumed.Trainer.Net.state_dict())
        {
            Assert.True(value.allclose(expected[key], rtol: 0, atol: 0), $"{key} differs after resume");
        }
        foreach (var (key, value) in resumed.Trainer.Optimizer.StateDict())
        {
            Assert.True(value.allclose(straight.Optimizer.StateDict()[key], rtol: 0, atol: 0), $"LARS buffer {key} differs after resume");
        }
        Assert.Equal(straight.LastLoss, resumed.Trainer.LastLoss);
    }

    [Fact]
    public void Init_weights_load_into_the_online_and_target_backbones()
    {
        using var torchvisionModel = torchvision.models.resnet18();
        var file = _files.File("resnet18-test.pth");
        StateDictIO.Save(torchvisionModel, file);

        using var net = new ByolNetwork(ByolTestData.TinyConfig(), file);

        var weights = torchvisionModel.state_dict();
        foreach (var (key, value) in net.Online.Backbone.state_dict().Where(e => !e.Key.EndsWith("num_batches_tracked", StringComparison.Ordinal)))
        {
            Assert.True(value.allclose(weights[key], rtol: 0, atol: 0), key);
            Assert.True(net.Target.Backbone.state_dict()[key].allclose(weights[key], rtol: 0, atol: 0), key);
        }
        // A file that lacks a weight of the backbone is refused with a message naming the file and the key.
        var incomplete = _files.File("resnet18-incomplete.pth");
        StateDictIO.Save(weights.Where(e => e.Key != "layer4.1.bn2.weight"), incomplete);
        var error = Assert.Throws<InvalidDataException>(() => new ByolNetwork(ByolTestData.TinyConfig(), incomplete));
        Assert.Contains("resnet18-incomplete.pth", error.Message, StringComparison.Ordinal);
        Assert.Contains("layer4.1.bn2.weight", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_cli_pretrains_on_tile_files_and_slide_tiles_and_writes_a_torchvision_layout_encoder_with_its_normalisation()
    {
        var tilesDir = _files.File("tiles");
        ByolTestData.WriteTiles(tilesDir, 8);
        // A generated slide, tiled by `ips slides tile` into a CLAM/TRIDENT coordinates file of 40-pixel tiles.
        var slides = _files.File("slides");
        Directory.CreateDirectory(slides);
        var slide = Path.Combine(slides, "normal_001.tif");
        PyramidalTiffWriter.Write(slide, new SyntheticTissue(320, 240, seed: 3, tissueFraction: 0.3),
            new SlideWriteOptions { TileSize = 128, SmallestLevelSize = 256, Compression = SlideCompression.Lzw });
        var coordsDir = _files.File("coords");
        Assert.Equal(0, CliApp.Create().Run(["slides", "tile", slide, "-o", coordsDir, "--tile-size", "40", "--plain"]));
        var coords = TileCoordsFile.Read(Path.Combine(coordsDir, "normal_001.h5"));
        Assert.True(coords.Count >= 8, $"only {coords.Count} tissue tiles");

        // A slide tile is the slide's region at the file's level and corner, as [3, S, S] in [0, 1].
        using (var slideTiles = TileInputs.Open([coordsDir], slides))
        using (var opened = SlideOpener.Open(slide))
        using (var tile = slideTiles.Load(2))
        {
            Assert.Equal(coords.Count, slideTiles.Count);
            var expected = opened.ReadRegion(coords.Info.PatchLevel, coords.Coords[2, 0], coords.Coords[2, 1], 40, 40);
            using var bytes = tile.mul(255).round().to(ScalarType.Byte).permute(1, 2, 0).contiguous();
            Assert.Equal(expected, bytes.bytes.ToArray());
        }
        var noSlides = Assert.Throws<ArgumentException>(() => TileInputs.Open([coordsDir]));
        Assert.Contains("normal_001.h5", noSlides.Message, StringComparison.Ordinal);

        var run = _files.File("run");
        string[] tiny = ["--set", "backbone=resnet18", "--set", "batch_size=8", "--set", "epochs=1", "--set", "warmup_epochs=0", "--set", "image_size=16",
            "--set", "blur_kernel=7", "--set", "projector_hidden=32", "--set", "projection_dim=16", "--set", "predictor_hidden=32"];

        Assert.Equal(0, CliApp.Create().Run(["pretrain", "byol", "--tiles", tilesDir, "--tiles", coordsDir, "--slides", slides, "--out", run, .. tiny, "--plain"]));

        var steps = (8 + coords.Count) / 8;
        foreach (var name in new[] { ByolCheckpoint.FileName, ByolEncoderFile.EncoderEntry, "config.yml", "metrics.csv" })
        {
            Assert.True(File.Exists(Path.Combine(run, name)), $"{name} missing");
        }
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(run, "tensorboard")));
        var checkpoint = Path.Combine(run, ByolCheckpoint.FileName);
        Assert.True(ByolEncoderFile.IsCheckpoint(checkpoint));
        var state = ByolEncoderFile.ReadState(checkpoint);
        Assert.Equal(((long)steps, (long)steps, "resnet18", 512), (state.Step, state.TotalSteps, state.Backbone, state.FeatureDim));
        Assert.Equal(ImageNetNormalisation.Mean, state.Mean);
        Assert.Equal(ImageNetNormalisation.Std, state.Std);
        Assert.Equal(2, File.ReadAllLines(Path.Combine(run, "metrics.csv")).Length);

        // encoder.pt has torchvision's names and loads into a fresh backbone; it equals the checkpoint's encoder.
        var (encoder, _) = ByolEncoderFile.Load(checkpoint);
        using (encoder)
        using (var fresh = new ResNetBackbone("resnet18"))
        {
            var keys = StateDictIO.ReadStateDict(Path.Combine(run, ByolEncoderFile.EncoderEntry));
            Assert.Contains("conv1.weight", keys.Keys);
            Assert.Contains("layer4.1.bn2.running_var", keys.Keys);
            Assert.DoesNotContain(keys.Keys, k => k.StartsWith("fc.", StringComparison.Ordinal));
            StateDictIO.Load(fresh, Path.Combine(run, ByolEncoderFile.EncoderEntry));
            fresh.eval();
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var input = ImageNetNormalisation.Apply(rand(2, 3, 32, 32));
            var features = encoder.call(input);
            Assert.Equal(new long[] { 2, 512 }, features.shape);
            Assert.True(features.allclose(fresh.call(input), rtol: 0, atol: 0));
        }

        // Resuming a finished run has nothing left to do and succeeds; a second start in the same directory is refused.
        Assert.Equal(0, CliApp.Create().Run(["pretrain", "byol", "--resume", run, "--plain"]));
        Assert.Equal(1, CliApp.Create().Run(["pretrain", "byol", "--tiles", tilesDir, "--out", run, .. tiny, "--plain"]));
        // Tiles that are not there are a missing input: 66 by the README's table, and the new run folder is removed.
        Assert.Equal(66, CliApp.Create().Run(["pretrain", "byol", "--tiles", _files.File("missing"), "--out", _files.File("run2"), "--plain"]));
        Assert.False(Directory.Exists(_files.File("run2")));
    }

    [Fact]
    public void Config_errors_name_the_file_and_the_key()
    {
        var file = _files.File("byol.yml");
        File.WriteAllText(file, "backbone: resnet50\nbatch_sise: 32\n");
        var unknown = Assert.Throws<ConfigException>(() => ByolConfigLoader.Load(file));
        Assert.Contains(file, unknown.Message, StringComparison.Ordinal);
        Assert.Contains("did you mean 'batch_size'", unknown.Message, StringComparison.Ordinal);

        var badValue = Assert.Throws<ConfigException>(() => ByolConfigLoader.Parse("blur_p: [1.0, 1.5]\n", "byol.yml"));
        Assert.Contains("config byol.yml: key 'blur_p'", badValue.Message, StringComparison.Ordinal);
        var badType = Assert.Throws<ConfigException>(() => ByolConfigLoader.Parse("tau_base: high\n", "byol.yml", ["epochs=3"]));
        Assert.Contains("key 'tau_base' must be a number", badType.Message, StringComparison.Ordinal);
        var badBackbone = Assert.Throws<ConfigException>(() => ByolConfigLoader.Parse("", "byol.yml", ["backbone=vit"]));
        Assert.Contains($"'backbone' must be one of {string.Join(", ", EncoderRegistry.ResNetNames)}", badBackbone.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_shipped_config_has_the_papers_hyper_parameters_and_round_trips()
    {
        var config = ByolConfigLoader.Load(RepositoryFiles.Path("configs/byol.yml"));
        Assert.Equal(("resnet50", 0.2, 0.99, 1.5e-6, 0.9, 4096, 256, 224), (config.Backbone, config.BaseLr, config.TauBase, config.WeightDecay,
            config.Momentum, config.ProjectorHidden, config.ProjectionDim, config.ImageSize));
        Assert.Equal(new[] { 1.0, 0.1 }, config.BlurP);
        Assert.Equal(new[] { 0.0, 0.2 }, config.SolarizeP);
        Assert.Equal(config.BaseLr * config.BatchSize / 256, config.PeakLr);
        var again = ByolConfigLoader.Parse(ByolConfigLoader.ToYaml(config), "again");
        Assert.Equal(ByolConfigLoader.ToYaml(config), ByolConfigLoader.ToYaml(again));
    }
}
