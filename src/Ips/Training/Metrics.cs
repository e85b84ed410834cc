using Ips.Configuration;
using static TorchSharp.torch;

namespace Ips.Training;

/// <summary>One task's epoch summary: mean loss and the task's metric.</summary>
/// <param name="Loss">Mean of the per-step losses (NaN when no step was recorded).</param>
/// <param name="Metric">The task's metric over all samples of the epoch (NaN when undefined, see <see cref="MetricAccumulator"/>).</param>
public readonly record struct TaskScores(double Loss, double Metric);

/// <summary>
/// Accumulates one task's predictions, targets and step losses over an epoch and computes its metric, as the
/// official <c>Logger</c> (utils/utils.py) does.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item><c>accuracy</c>: fraction of samples whose argmax equals the class index (first maximum wins a tie). For a
/// single sigmoid output, where argmax is meaningless, the prediction is <c>p &gt;= 0.5</c>.</item>
/// <item><c>multilabel_accuracy</c>: as the official code, the fraction of samples whose labels are <i>all</i>
/// right with <c>p &gt;= 0.5</c> meaning present (exact match per sample, not a per-label mean).</item>
/// <item><c>auc</c>: ROC AUC by the Mann-Whitney rank statistic with average ranks for ties (what sklearn's
/// <c>roc_auc_score</c> computes). One output: binary AUC of the score against 0/1 targets (the official use,
/// CAMELYON16). Several softmax outputs: one-vs-rest macro average over classes; several sigmoid outputs: macro
/// average over labels (sklearn's defaults for those cases; the official code only uses the binary case).
/// When a class has no positive or no negative sample the AUC is undefined: sklearn raises an error, here
/// <see cref="Compute"/> returns NaN so a small or unlucky evaluation set does not stop training.</item>
/// </list>
/// The mean loss is the mean of the per-step (per-batch) losses, unweighted by batch size, as the official
/// <c>np.mean(losses_it)</c>. With nothing added, every value is NaN.
/// </remarks>
public sealed class MetricAccumulator
{
    private readonly List<float[]> _probs = [];
    private readonly List<float[]> _targets = [];
    private readonly List<double> _losses = [];

    /// <summary>Creates an empty accumulator for <paramref name="task"/>.</summary>
    public MetricAccumulator(TaskConfig task)
    {
        ArgumentNullException.ThrowIfNull(task);
        Task = task;
    }

    /// <summary>The task whose metric is accumulated.</summary>
    public TaskConfig Task { get; }

    /// <summary>Samples added so far.</summary>
    public int Count => _probs.Count;

    /// <summary>Mean of the step losses added with <see cref="AddLoss"/>; NaN when none.</summary>
    public double MeanLoss => _losses.Count == 0 ? double.NaN : _losses.Average();

    /// <summary>Adds a batch: probabilities <c>[B, n_class]</c> (or <c>[B]</c>) and targets, <c>[B]</c> class
    /// indices for softmax tasks, <c>[B, n_class]</c> (or <c>[B]</c>) 0/1 values for sigmoid tasks.</summary>
    public void Add(Tensor probs, Tensor target)
    {
        ArgumentNullException.ThrowIfNull(probs);
        ArgumentNullException.ThrowIfNull(target);
        using var scope = NewDisposeScope();
        var batch = probs.dim() == 0 ? 0 : probs.shape[0];
        if (probs.dim() is < 1 or > 2 || target.dim() is < 1 or > 2 || target.shape[0] != batch)
            throw new ArgumentException($"task '{Task.Name}': expected probabilities [B, n_class] and targets [B] or "
                + $"[B, n_class], got [{string.Join(", ", probs.shape)}] and [{string.Join(", ", target.shape)}]");
        var p = probs.detach().to(float32).cpu().reshape(batch, -1); // [B, C]
        var t = target.detach().to(float32).cpu().reshape(batch, -1); // [B, 1] class index, or [B, C] labels
        var width = (int)p.shape[1];
        var targetWidth = (int)t.shape[1];
        var expectedTargetWidth = Task.IsSoftmax ? 1 : width;
        if (targetWidth != expectedTargetWidth)
            throw new ArgumentException($"task '{Task.Name}': {targetWidth} target values per sample, expected {expectedTargetWidth}");
        var pData = p.data<float>().ToArray();
        var tData = t.data<float>().ToArray();
        for (var i = 0; i < batch; i++)
        {
            _probs.Add(pData.AsSpan(i * width, width).ToArray());
            _targets.Add(tData.AsSpan(i * targetWidth, targetWidth).ToArray());
        }
    }

    /// <summary>Records the loss of one training or evaluation step.</summary>
    public void AddLoss(double stepLoss) => _losses.Add(stepLoss);

    /// <summary>Forgets everything added, for the next epoch.</summary>
    public void Reset()
    {
        _probs.Clear();
        _targets.Clear();
        _losses.Clear();
    }

    /// <summary>Everything added so far, to be stored in a checkpoint written mid-epoch.</summary>
    public AccumulatorState Snapshot() => new([.. _probs], [.. _targets], [.. _losses]);

    /// <summary>Replaces the contents with a <see cref="Snapshot"/>, so a resumed epoch's scores equal an uninterrupted one's.</summary>
    public void Restore(AccumulatorState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        Reset();
        _probs.AddRange(state.Probs);
        _targets.AddRange(state.Targets);
        _losses.AddRange(state.Losses);
    }

    /// <summary>The task's metric over all samples added (see the remarks for definitions and NaN cases).</summary>
    public double Compute()
    {
        if (Count == 0) return double.NaN;
        return Task.Metric switch
        {
            "accuracy" => Accuracy(),
            "multilabel_accuracy" => MultilabelAccuracy(),
            "auc" => Auc(),
            _ => throw new InvalidOperationException($"task '{Task.Name}': unknown metric '{Task.Metric}'"),
        };
    }

    /// <summary>Mean loss and metric.</summary>
    public TaskScores Scores() => new(MeanLoss, Compute());

    private double Accuracy()
    {
        var correct = 0;
        for (var i = 0; i < Count; i++)
        {
            var p = _probs[i];
            var predicted = p.Length == 1 ? (p[0] >= 0.5f ? 1 : 0) : ArgMax(p);
            if (predicted == (int)MathF.Round(_targets[i][0])) correct++;
        }
        return correct / (double)Count;
    }

    private double MultilabelAccuracy()
    {
        var correct = 0;
        for (var i = 0; i < Count; i++)
        {
            var p = _probs[i];
            var t = _targets[i];
            var allRight = true;
            for (var k = 0; k < p.Length && allRight; k++)
                allRight = (p[k] >= 0.5f ? 1f : 0f) == t[k];
            if (allRight) correct++;
        }
        return correct / (double)Count;
    }

    private double Auc()
    {
        var width = _probs[0].Length;
        if (width == 1)
            return BinaryAuc(_probs.Select(p => (double)p[0]).ToArray(), _targets.Select(t => t[0] >= 0.5f).ToArray());
        var sum = 0.0;
        for (var k = 0; k < width; k++)
        {
            var column = k;
            var scores = _probs.Select(p => (double)p[column]).ToArray();
            var positive = Task.IsSoftmax
                ? _targets.Select(t => (int)MathF.Round(t[0]) == column).ToArray()
                : _targets.Select(t => t[column] >= 0.5f).ToArray();
            sum += BinaryAuc(scores, positive);
        }
        return sum / width;
    }

    private static int ArgMax(float[] values)
    {
        var best = 0;
        for (var k = 1; k < values.Length; k++)
            if (values[k] > values[best]) best = k;
        return best;
    }

    /// <summary>ROC AUC = (sum of positive ranks - nPos (nPos + 1) / 2) / (nPos nNeg), ties sharing their mean rank.</summary>
    internal static double BinaryAuc(double[] scores, bool[] positive)
    {
        var nPos = positive.Count(x => x);
        var nNeg = positive.Length - nPos;
        if (nPos == 0 || nNeg == 0) return double.NaN;

        var order = Enumerable.Range(0, scores.Length).OrderBy(i => scores[i]).ToArray();
        var positiveRankSum = 0.0;
        for (var start = 0; start < order.Length;)
        {
            var end = start;
            while (end + 1 < order.Length && scores[order[end + 1]] == scores[order[start]]) end++;
            var meanRank = (start + end) / 2.0 + 1; // 1-based ranks start+1 .. end+1
            for (var j = start; j <= end; j++)
                if (positive[order[j]]) positiveRankSum += meanRank;
            start = end + 1;
        }
        return (positiveRankSum - nPos * (nPos + 1) / 2.0) / ((double)nPos * nNeg);
    }
}

/// <summary>The <see cref="MetricAccumulator"/>s of all tasks of a config, fed a whole batch at a time.</summary>
public sealed class EpochMetrics
{
    private readonly Dictionary<string, MetricAccumulator> _byTask;

    /// <summary>Creates empty accumulators for <paramref name="tasks"/>.</summary>
    public EpochMetrics(IReadOnlyList<TaskConfig> tasks)
    {
        ArgumentNullException.ThrowIfNull(tasks);
        Tasks = tasks;
        _byTask = tasks.ToDictionary(t => t.Name, t => new MetricAccumulator(t), StringComparer.Ordinal);
    }

    /// <summary>The tasks, in config order.</summary>
    public IReadOnlyList<TaskConfig> Tasks { get; }

    /// <summary>The accumulator of the task named <paramref name="taskName"/>.</summary>
    public MetricAccumulator this[string taskName] => _byTask[taskName];

    /// <summary>Adds one step: per task name the probabilities, the targets and the scalar loss tensor
    /// (as returned by <see cref="Losses.Compute"/>).</summary>
    public void Add(Dictionary<string, Tensor> predictions, Dictionary<string, Tensor> targets, Dictionary<string, Tensor> losses)
    {
        ArgumentNullException.ThrowIfNull(predictions);
        ArgumentNullException.ThrowIfNull(targets);
        ArgumentNullException.ThrowIfNull(losses);
        foreach (var task in Tasks)
        {
            var accumulator = _byTask[task.Name];
            accumulator.Add(predictions[task.Name], targets[task.Name]);
            accumulator.AddLoss(losses[task.Name].item<float>());
        }
    }

    /// <summary>Mean loss and metric per task name, in config order.</summary>
    public Dictionary<string, TaskScores> Compute() => Tasks.ToDictionary(t => t.Name, t => _byTask[t.Name].Scores());

    /// <summary>Forgets everything added, for the next epoch.</summary>
    public void Reset()
    {
        foreach (var accumulator in _byTask.Values) accumulator.Reset();
    }

    /// <summary>Every task's accumulated values by task name (see <see cref="MetricAccumulator.Snapshot"/>).</summary>
    public Dictionary<string, AccumulatorState> Snapshot() => Tasks.ToDictionary(t => t.Name, t => _byTask[t.Name].Snapshot());

    /// <summary>Restores a <see cref="Snapshot"/>; every task of this config must be in it.</summary>
    /// <exception cref="InvalidDataException">A task is missing from <paramref name="state"/>.</exception>
    public void Restore(IReadOnlyDictionary<string, AccumulatorState> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        foreach (var task in Tasks)
        {
            _byTask[task.Name].Restore(state.TryGetValue(task.Name, out var s) ? s
                : throw new InvalidDataException($"the stored partial epoch has no values for task '{task.Name}'"));
        }
    }
}

/// <summary>The contents of a <see cref="MetricAccumulator"/>: per sample its probabilities and targets, per step its loss.</summary>
/// <param name="Probs">Probabilities, one array per sample.</param>
/// <param name="Targets">Targets, one array per sample.</param>
/// <param name="Losses">Step losses.</param>
public sealed record AccumulatorState(float[][] Probs, float[][] Targets, double[] Losses);
