using Ips.Configuration;
using Ips.Data;
using Ips.Data.Camelyon16;
using Ips.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Ips.Inference;

/// <summary>
/// <c>ips evaluate</c>: a trained model's loss and metric per task on a split of its config's data set. It loads the
/// weights and runs the <see cref="Evaluator"/>'s pass, and nothing else of training: no optimiser, no fresh model.
/// </summary>
public static class ModelEvaluation
{
    /// <summary>
    /// Evaluates the weights in <paramref name="weights"/> on the training (<paramref name="train"/>) or test split;
    /// softmax tasks also get their results per class (by the names the config or the checkpoint records).
    /// With <paramref name="skipBad"/>, images of your own data set that have problems are left out.
    /// </summary>
    /// <exception cref="ArgumentException">The data set is missing or empty, or is not the one the model records being trained on.</exception>
    public static EvaluationDocument Run(IpsConfig config, string weights, bool train, Device device, bool skipBad = false)
    {
        ArgumentNullException.ThrowIfNull(config);
        var data = DatasetCatalog.Open(config, train, skipBad);
        using var net = ModelWeights.Load(config, weights);
        RequireRecordedPreprocessing(config, weights);
        TrainedEncoder.Require(TrainedEncoder.Of(config, weights), Camelyon16Dataset.RecordedEncoder(config, train),
            $"the {(train ? "training" : "test")} split of data_dir {config.DataDir}");
        config = ModelWeights.WithClassNames(config, weights);
        net.to(device);
        var pass = new Evaluator(net, device).Pass(data);
        var scores = pass.Compute();
        return new EvaluationDocument(
            train ? "train" : "test",
            data.Count,
            Path.GetFullPath(weights),
            config.Tasks.ToDictionary(t => t.Name, t => new TaskEvaluation(t.Metric, scores[t.Name].Metric, scores[t.Name].Loss)
            {
                PerClass = t.IsSoftmax ? ClassResults.Of(ConfusionMatrix.From(pass[t.Name].Snapshot(), [.. Enumerable.Range(0, t.NClass).Select(t.ClassName)])) : null,
            }));
    }

    // The data set prepares its images itself; a model that records another test_preprocessing was trained on another
    // data set, and its scores here would mean nothing.
    private static void RequireRecordedPreprocessing(IpsConfig config, string weights)
    {
        if (!config.IsImage || (config.TestPreprocessing ?? ModelWeights.TrainedWith(weights)?.TestPreprocessing) is not { } recorded)
        {
            return;
        }
        if (ImagePreprocessing.OfDataSet(config) is { } found && found != recorded)
        {
            throw new ArgumentException(
                $"--weights {weights}: the model records test_preprocessing {recorded}, but data_dir '{config.DataDir}' holds a data set " +
                $"whose test images are prepared with {found}; evaluate it on the data set it was trained on.");
        }
    }
}
