using Ips.Configuration;
using Ips.Training;
using static TorchSharp.torch;

namespace Ips.Tests.Training;

public sealed class MetricsTests
{
    private static TaskConfig Task(string actFn, string metric, int nClass) =>
        new() { Key = "t", Id = 0, Name = "t", ActFn = actFn, Metric = metric, NClass = nClass };

    [Fact]
    public void Accuracy_compares_the_argmax_over_all_batches_of_the_epoch()
    {
        using var scope = NewDisposeScope();
        var acc = new MetricAccumulator(Task("softmax", "accuracy", 2));
        acc.Add(tensor(new float[,] { { 0.1f, 0.9f }, { 0.8f, 0.2f } }), tensor(new long[] { 1, 1 }));
        acc.Add(tensor(new float[,] { { 0.5f, 0.5f } }), tensor(new long[] { 0 })); // a tie goes to the first class
        Assert.Equal(2.0 / 3, acc.Compute(), 12); // right, wrong, right
        Assert.Equal(3, acc.Count);
    }

    [Fact]
    public void Multilabel_accuracy_counts_samples_with_every_label_right()
    {
        using var scope = NewDisposeScope();
        var acc = new MetricAccumulator(Task("sigmoid", "multilabel_accuracy", 2));
        acc.Add(tensor(new float[,] { { 0.6f, 0.4f }, { 0.5f, 0.1f }, { 0.2f, 0.7f } }),
            tensor(new float[,] { { 1, 0 }, { 1, 1 }, { 0, 1 } }));
        // Thresholded at >= 0.5: [1,0] right, [1,0] vs [1,1] wrong, [0,1] right -> 2/3 (a per-label mean would be 5/6).
        Assert.Equal(2.0 / 3, acc.Compute(), 12);
    }

    [Fact]
    public void Auc_uses_average_ranks_for_ties()
    {
        using var scope = NewDisposeScope();
        var auc = new MetricAccumulator(Task("sigmoid", "auc", 1));
        // Ranks 1, 2.5, 2.5, 4; positives 2.5 + 4 = 6.5; (6.5 - 2 * 3 / 2) / (2 * 2) = 0.875
        auc.Add(tensor(new float[,] { { 0.1f }, { 0.4f } }), tensor(new long[] { 0, 0 })); // [B, 1] scores, [B] labels
        auc.Add(tensor(new float[] { 0.4f, 0.8f }), tensor(new float[] { 1, 1 }));           // [B] scores
        Assert.Equal(0.875, auc.Compute(), 12);
    }

    [Fact]
    public void Auc_is_nan_when_only_one_class_is_present()
    {
        using var scope = NewDisposeScope();
        var auc = new MetricAccumulator(Task("sigmoid", "auc", 1));
        auc.Add(tensor(new float[] { 0.2f, 0.9f }), tensor(new float[] { 1, 1 }));
        Assert.True(double.IsNaN(auc.Compute()));
        Assert.Equal(0.5, MetricAccumulator.BinaryAuc([0.3, 0.3, 0.3], [true, false, false]), 12);
    }

    [Fact]
    public void Auc_of_several_softmax_classes_is_the_one_vs_rest_macro_average()
    {
        using var scope = NewDisposeScope();
        var auc = new MetricAccumulator(Task("softmax", "auc", 3));
        auc.Add(tensor(new float[,] { { 0.8f, 0.1f, 0.1f }, { 0.1f, 0.8f, 0.1f }, { 0.1f, 0.1f, 0.8f }, { 0.2f, 0.1f, 0.7f } }),
            tensor(new long[] { 0, 1, 2, 1 }));
        // class 0: 1; class 1: positives 0.8, 0.1 vs negatives 0.1, 0.1 -> (2 wins + 2 ties / 2) / 4 = 0.75; class 2: 1
        Assert.Equal((1 + 0.75 + 1) / 3, auc.Compute(), 12);
    }

    [Fact]
    public void Loss_is_the_unweighted_mean_of_step_losses_and_empty_means_nan()
    {
        var acc = new MetricAccumulator(Task("softmax", "accuracy", 2));
        Assert.True(double.IsNaN(acc.MeanLoss));
        Assert.True(double.IsNaN(acc.Compute()));
        acc.AddLoss(1.0);
        acc.AddLoss(2.0);
        Assert.Equal(1.5, acc.MeanLoss, 12);
        acc.Reset();
        Assert.True(double.IsNaN(acc.MeanLoss));
    }

    [Fact]
    public void Epoch_metrics_feed_every_task_from_one_step()
    {
        using var scope = NewDisposeScope();
        var digit = new TaskConfig { Key = "a", Id = 0, Name = "digit", ActFn = "softmax", Metric = "accuracy", NClass = 2 };
        var multi = new TaskConfig { Key = "b", Id = 1, Name = "multi", ActFn = "sigmoid", Metric = "multilabel_accuracy", NClass = 2 };
        var epoch = new EpochMetrics([digit, multi]);
        epoch.Add(
            new Dictionary<string, Tensor> { ["digit"] = tensor(new float[,] { { 0.3f, 0.7f } }), ["multi"] = tensor(new float[,] { { 0.9f, 0.9f } }) },
            new Dictionary<string, Tensor> { ["digit"] = tensor(new long[] { 1 }), ["multi"] = tensor(new float[,] { { 1, 0 } }) },
            new Dictionary<string, Tensor> { ["digit"] = tensor(0.25f), ["multi"] = tensor(0.5f) });
        var scores = epoch.Compute();
        Assert.Equal(new TaskScores(0.25, 1.0), scores["digit"]);
        Assert.Equal(new TaskScores(0.5, 0.0), scores["multi"]);
        Assert.Equal(1, epoch["digit"].Count);
    }

    [Fact]
    public void Mismatched_targets_are_rejected()
    {
        using var scope = NewDisposeScope();
        var acc = new MetricAccumulator(Task("sigmoid", "multilabel_accuracy", 2));
        var e = Assert.Throws<ArgumentException>(() => acc.Add(tensor(new float[,] { { 0.1f, 0.2f } }), tensor(new float[] { 1 })));
        Assert.Contains("1 target values per sample, expected 2", e.Message, StringComparison.Ordinal);
    }
}
