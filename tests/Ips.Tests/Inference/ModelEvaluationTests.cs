using Ips.Cli;
using Ips.Configuration;
using Ips.Data;
using Ips.Inference;
using Ips.IO;
using Ips.Tests.Data;
using Ips.Training;
using static TorchSharp.torch;

namespace Ips.Tests.Inference;

/// <summary>
/// <c>ips evaluate</c> runs the evaluation pass on the loaded model alone: the trainer's numbers, without the
/// trainer's optimiser or its freshly initialised (and ImageNet-started) model.
/// </summary>
public sealed class ModelEvaluationTests : IDisposable
{
    private readonly TempFiles _files = new();
    private readonly string _data;

    public ModelEvaluationTests()
    {
        var mnist = _files.File("mnist");
        Directory.CreateDirectory(mnist);
        MnistTestData.WriteSplits(mnist, MnistTestData.Synthetic(60), MnistTestData.Synthetic(30, salt: 3), gz: false);
        _data = _files.File("mpm");
        Assert.Equal(0, CliApp.Create().Run(["data", "megapixel-mnist", _data, "--n-train", "4", "--n-test", "5", "--width", "100", "--height", "100", "--n-noise", "1", "--mnist", mnist, "--plain"]));
    }

    public void Dispose() => _files.Dispose();

    private IpsConfig Config(params string[] more) =>
        ConfigLoader.Load(RepositoryFiles.Path("configs/mnist-small.yml"), [$"data_dir={_data}", "N=4", "patch_size=[50,50]", "patch_stride=[50,50]", "M=2", "I=2", "B=2", "B_seq=2", .. more]);

    [Fact]
    public void The_scores_are_the_trainers_evaluation_of_the_same_weights()
    {
        var config = Config();
        var weights = _files.File("model.pt");
        using var trainer = new Trainer(config, CPU);
        StateDictIO.Save(trainer.Net, weights);
        var expected = trainer.Evaluate(DatasetCatalog.Open(config, train: false));

        var scores = ModelEvaluation.Run(config, weights, train: false, CPU);

        Assert.Equal(5, scores.Examples);
        Assert.Equal(config.Tasks.Select(t => t.Name), scores.Tasks.Keys);
        foreach (var task in config.Tasks)
        {
            Assert.Equal(expected[task.Name].Metric, scores.Tasks[task.Name].Value);
            Assert.Equal(expected[task.Name].Loss, scores.Tasks[task.Name].Loss);
        }
    }

    [Fact]
    public void It_needs_nothing_of_training_not_even_the_ImageNet_start_of_the_config()
    {
        var weights = _files.File("model.pt");
        using (var trainer = new Trainer(Config(), CPU))
        {
            StateDictIO.Save(trainer.Net, weights);
        }
        // A config trained from ImageNet weights that are not on this machine: a trainer cannot even be built.
        var pretrained = Config("pretrained=true", $"pretrained_weights={_files.File("absent-resnet18.pth")}");
        Assert.Throws<FileNotFoundException>(() => new Trainer(pretrained, CPU));

        var scores = ModelEvaluation.Run(pretrained, weights, train: false, CPU);

        Assert.Equal(5, scores.Examples);
    }

    [Fact]
    public void A_model_that_records_another_test_preprocessing_than_the_data_set_is_refused()
    {
        var weights = _files.File("model.pt");
        using (var trainer = new Trainer(Config(), CPU))
        {
            StateDictIO.Save(trainer.Net, weights);
        }
        var error = Assert.Throws<ArgumentException>(() => ModelEvaluation.Run(Config("test_preprocessing=traffic"), weights, train: false, CPU));
        Assert.Contains("records test_preprocessing traffic, but data_dir", error.Message, StringComparison.Ordinal);
    }
}
