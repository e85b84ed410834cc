using Ips.Configuration;
using Ips.Data;
using Ips.Inference;
using Ips.IO;
using Ips.Modeling;
using Ips.Tests.Data.Traffic;
using Ips.Training;
using static TorchSharp.torch;

namespace Ips.Tests.Inference;

/// <summary>
/// <c>test_preprocessing</c>: training records it from the data set it trains on, and prediction follows the record
/// (or, for a model without one, its config), never the files on the predicting machine.
/// </summary>
public sealed class TestPreprocessingTests : IDisposable
{
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public void A_run_on_the_traffic_signs_records_traffic_in_config_yml_and_its_checkpoints()
    {
        var sts = _files.File("sts");
        StsTestData.Write(sts, perClass: 1, width: 64, height: 48);
        var run = _files.File("run");
        using (var training = TrainingRun.Start(run, TrafficTestConfig.Scaled(sts), CPU))
        {
            Assert.Equal(ImagePreprocessing.Traffic, training.Config.TestPreprocessing);
            training.Trainer.SaveCheckpoint(Path.Combine(run, TrainingRun.LastCheckpoint), CheckpointState.Initial);
        }
        Assert.Contains("test_preprocessing: 'traffic'\n", File.ReadAllText(Path.Combine(run, TrainingRun.ConfigFile)), StringComparison.Ordinal);
        Assert.Equal(ImagePreprocessing.Traffic, ModelWeights.TrainedWith(Path.Combine(run, TrainingRun.LastCheckpoint))?.TestPreprocessing);
    }

    [Fact]
    public void A_run_on_megapixel_mnist_records_none_and_a_feature_config_records_nothing()
    {
        var mnist = _files.File("mnist");
        Directory.CreateDirectory(mnist);
        // DatasetCatalog knows Megapixel MNIST by this file.
        File.WriteAllText(Path.Combine(mnist, "parameters.json"), "{}");
        var config = ConfigLoader.Load(RepositoryFiles.Path("configs/mnist-small.yml"), [$"data_dir={mnist}"]);
        Assert.Null(config.TestPreprocessing);
        using (var training = TrainingRun.Start(_files.File("run"), config, CPU))
        {
            Assert.Equal(ImagePreprocessing.None, training.Config.TestPreprocessing);
        }
        Assert.Null(ImagePreprocessing.Record(Modeling.ModelFixtures.SmallFeatureConfig() with { DataDir = mnist }).TestPreprocessing);
    }

    [Fact]
    public void A_traffic_model_predicts_the_same_whether_or_not_its_data_set_is_on_this_machine()
    {
        var sts = _files.File("sts");
        StsTestData.Write(sts, perClass: 1, width: 64, height: 48);
        var config = TrafficTestConfig.Scaled(sts);
        var weights = _files.File("model.pt");
        using (var net = new IpsNet(config))
        {
            StateDictIO.Save(net, weights);
        }
        var photo = Path.Combine(sts, "Set2", "00002.jpg");
        var absent = config with { DataDir = _files.File("not-here") };

        var (here, hereNotes) = Predict(config, weights, photo);
        var (elsewhere, elsewhereNotes) = Predict(absent, weights, photo);
        var (recorded, recordedNotes) = Predict(absent with { TestPreprocessing = ImagePreprocessing.Traffic }, weights, photo);

        // The photo of 64 x 48 is resized to the model's 128 x 96: its 48 patches of 16 pixels.
        Assert.Equal(48, here.PatchCount);
        foreach (var other in new[] { elsewhere, recorded })
        {
            Assert.Equal(here.PatchCount, other.PatchCount);
            Assert.Equal(here.Selected, other.Selected);
            Assert.Equal(here.Probabilities["sign"], other.Probabilities["sign"]);
        }
        // Without the record, one note says how the preprocessing was chosen; with it, nothing needs saying.
        Assert.Contains("using traffic (resize to 128 x 96", Assert.Single(hereNotes), StringComparison.Ordinal);
        Assert.Equal(hereNotes, elsewhereNotes);
        Assert.Empty(recordedNotes);
    }

    [Fact]
    public void A_config_that_contradicts_the_checkpoint_it_predicts_with_is_refused()
    {
        var sts = _files.File("sts");
        StsTestData.Write(sts, perClass: 1, width: 64, height: 48);
        var run = _files.File("run");
        var checkpoint = Path.Combine(run, TrainingRun.LastCheckpoint);
        IpsConfig config;
        using (var training = TrainingRun.Start(run, TrafficTestConfig.Scaled(sts), CPU))
        {
            config = training.Config;
            training.Trainer.SaveCheckpoint(checkpoint, CheckpointState.Initial);
        }

        var error = Assert.Throws<ArgumentException>(() => new Predictor(config with { TestPreprocessing = ImagePreprocessing.None }, checkpoint, CPU));
        Assert.Contains($"test_preprocessing is none, but --weights {checkpoint} was trained with traffic", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_key_is_traffic_or_none_traffic_only_for_images_and_it_round_trips()
    {
        var mnist = RepositoryFiles.Path("configs/mnist-small.yml");
        var recorded = ConfigLoader.Load(mnist, ["test_preprocessing=traffic"]);
        Assert.Equal(ImagePreprocessing.Traffic, recorded.TestPreprocessing);
        Assert.Equal(ImagePreprocessing.Traffic, ConfigLoader.Parse(ConfigLoader.ToYaml(recorded), mnist).TestPreprocessing);
        Assert.DoesNotContain("test_preprocessing", ConfigLoader.ToYaml(ConfigLoader.Load(mnist)), StringComparison.Ordinal);

        var unknown = Assert.Throws<ConfigException>(() => ConfigLoader.Load(mnist, ["test_preprocessing=resize"]));
        Assert.Contains("test_preprocessing 'resize' must be one of traffic, images, none", unknown.Message, StringComparison.Ordinal);
        var features = Assert.Throws<ConfigException>(() => ConfigLoader.Load(RepositoryFiles.Path("configs/camelyon.yml"), ["test_preprocessing=traffic"]));
        Assert.Contains("test_preprocessing traffic resizes and normalises photos; it needs is_image: True", features.Message, StringComparison.Ordinal);
    }

    private static (Prediction Prediction, IReadOnlyList<string> Notes) Predict(IpsConfig config, string weights, string input)
    {
        using var predictor = new Predictor(config, weights, CPU);
        return (predictor.Predict(input), predictor.Notes);
    }
}
