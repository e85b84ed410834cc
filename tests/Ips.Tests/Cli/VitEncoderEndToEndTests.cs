using System.Text.Json;
using System.Text.Json.Nodes;
using Ips.Configuration;
using Ips.Features;
using Ips.Tests.Encoders;
using Ips.Tests.Slides;

namespace Ips.Tests.Cli;

/// <summary>
/// A vision transformer folder (timm layout, registers, SwiGLUPacked, mean/std 0.5 in pretrained_cfg, pooling given by
/// --pool) through the whole slide pipeline: <c>slides tile</c>, <c>slides features</c>, <c>slides pack</c>,
/// <c>train</c>, and <c>predict --encoder</c> on a slide, which must equal predicting its extracted features; the
/// model records the pooling, and predict refuses another (exit 64 for <c>--pool</c>, 1 for an encoder folder or
/// features pooled otherwise).
/// </summary>
[Collection(nameof(ConsoleOutput))]
public sealed class VitEncoderEndToEndTests : IDisposable
{
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    private static void Ok(params string[] args)
    {
        var (code, output) = CommandLineTests.Ips(args);
        Assert.True(code == 0, $"ips {string.Join(' ', args)}:\n{output}");
    }

    private static float Probability(string json)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(json));
        return document.RootElement[0].GetProperty("probabilities").GetProperty("metastases")[0].GetSingle();
    }

    [Fact]
    public void Features_train_and_predict_with_a_vit_folder()
    {
        var encoder = VitFixtures.Folder("registers_swiglu");
        var cohort = _files.File("cohort");
        Ok("data", "camelyon16", "synthetic", "--out", cohort, "--slides", "1", "--test", "0", "--size", "1024", "--seed", "8");
        var slides = Path.Combine(cohort, "training");
        var coords = _files.File("coords");
        Ok("slides", "tile", slides, "--out", coords, "--plain");
        var features = _files.File("features");
        Ok("slides", "features", slides, "--coords", coords, "--encoder", encoder, "--pool", "token+avg", "--out", features, "--plain");

        var tumour = Path.Combine(features, "tumor_001.h5");
        var recorded = FeatureProvenance.Read(tumour)!.Encoder;
        Assert.Equal(("token+avg", "vit_base_patch16_224", 192, "model"), (recorded.Pool, recorded.Architecture, recorded.Width, recorded.Normalisation));
        Assert.Equal([0.5f, 0.5f, 0.5f], recorded.Mean!);

        var labels = _files.File("labels.csv");
        File.WriteAllLines(labels, ["slide_id,label", "normal_001,0", "tumor_001,1"]);
        var data = _files.File("data");
        Ok("slides", "pack", features, "--labels", labels, "--out", Path.Combine(data, "packed.hdf5"), "--plain");
        var run = _files.File("run");
        Ok("train", "-c", RepositoryFiles.Path("configs/camelyon.yml"), "--run-dir", run, "--set", $"data_dir={data}",
            "--set", "train_fname=packed.hdf5", "--set", "test_fname=packed.hdf5", "--set", "n_chan_in=192", "--set", "D=8", "--set", "H=2",
            "--set", "D_k=4", "--set", "D_v=4", "--set", "D_inner=16", "--set", "M=3", "--set", "I=2", "--set", "B=2", "--set", "n_epoch=1",
            "--set", "n_epoch_warmup=0", "--set", "n_worker=1", "--plain");

        var config = Path.Combine(run, "config.yml");
        var checkpoint = Path.Combine(run, "last.ckpt");
        var onTheFly = _files.File("slide.json");
        Ok("predict", "-c", config, "-w", checkpoint, "--encoder", encoder, "--pool", "token+avg",
            Path.Combine(slides, "tumor", "tumor_001.tif"), "-o", onTheFly, "--plain");
        var extracted = _files.File("features.json");
        Ok("predict", "-c", config, "-w", checkpoint, tumour, "-o", extracted, "--plain");

        Assert.Equal(Probability(extracted), Probability(onTheFly), 5);

        Assert.Equal("token+avg", ConfigLoader.Load(config).FeatureEncoderPool);
        Assert.Equal("token+avg", ConfigLoader.Parse(Ips.Training.Checkpoint.ReadConfigYaml(checkpoint), checkpoint).FeatureEncoderPool);
        var slide = Path.Combine(slides, "tumor", "tumor_001.tif");

        // --pool other than the model's is a usage error, found before the slide is opened.
        var (code, output) = CommandLineTests.Ips("predict", "-c", config, "-w", checkpoint, "--encoder", encoder, "--pool", "avg", slide, "--plain");
        Assert.Equal(64, code);
        Assert.Equal("error: --pool avg: the model was trained on features pooled token+avg (feature_encoder_pool); give --pool token+avg or leave it out.",
            Assert.Single(output.Split('\n'), line => line.StartsWith("error:", StringComparison.Ordinal)));

        // The same weights in a folder whose config pools by the class token: same SHA-256, other features.
        var tokenFolder = _files.File("token-folder");
        Directory.CreateDirectory(tokenFolder);
        foreach (var file in Directory.GetFiles(encoder))
        {
            File.Copy(file, Path.Combine(tokenFolder, Path.GetFileName(file)));
        }
        var configJson = JsonNode.Parse(File.ReadAllText(Path.Combine(encoder, "config.json")))!;
        configJson["model_args"]!["global_pool"] = "token";
        File.WriteAllText(Path.Combine(tokenFolder, "config.json"), configJson.ToJsonString());
        (code, output) = CommandLineTests.Ips("predict", "-c", config, "-w", checkpoint, "--encoder", tokenFolder, slide, "--plain");
        Assert.Equal(1, code);
        Assert.Contains($"error: --encoder {tokenFolder}: pools token (as its config says), but the model was trained on its features pooled token+avg; give --pool token+avg.",
            output, StringComparison.Ordinal);

        // Features of the same weights pooled by the class token.
        var tokenFeatures = _files.File("token-features");
        Ok("slides", "features", slide, "--coords", coords, "--encoder", encoder, "--pool", "token", "--out", tokenFeatures, "--plain");
        var tokenFile = Path.Combine(tokenFeatures, "tumor_001.h5");
        (code, output) = CommandLineTests.Ips("predict", "-c", config, "-w", checkpoint, tokenFile, "--plain");
        Assert.Equal(1, code);
        Assert.Contains($"error: {tokenFile} holds features of registers_swiglu/pytorch_model.bin pooled token, but the model was trained on its features pooled token+avg; extract them again with --pool token+avg.",
            output, StringComparison.Ordinal);
    }
}
