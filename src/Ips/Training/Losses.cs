using Ips.Configuration;
using static TorchSharp.torch;

namespace Ips.Training;

/// <summary>
/// The training loss of docs/design.md section 4, as the official <c>compute_loss</c>: softmax tasks use the negative
/// log-likelihood of <c>log(p + eps)</c>, sigmoid tasks binary cross-entropy on the probabilities (PyTorch's
/// <c>BCELoss</c>, whose log terms libtorch clamps at -100, so a probability of exactly 0 or 1 gives a finite loss);
/// each is the mean over its batch (over batch and labels for sigmoid), and the total is the mean over tasks.
/// </summary>
public static class Losses
{
    /// <summary>Computes the per-task losses and their mean.</summary>
    /// <param name="predictions">Per task name: probabilities, <c>[B, n_class]</c> (sigmoid with one class may be <c>[B]</c>).</param>
    /// <param name="targets">Per task name: <c>[B]</c> int64 class indices for softmax; <c>[B, n_class]</c> (or <c>[B]</c>
    /// when n_class is 1) 0/1 values for sigmoid, any numeric type.</param>
    /// <param name="tasks">The tasks of the config.</param>
    /// <param name="eps">The config's <c>eps</c>, added to softmax probabilities before the log.</param>
    /// <returns>The mean over tasks (a scalar that carries gradients) and each task's scalar loss by task name.</returns>
    public static (Tensor Total, Dictionary<string, Tensor> PerTask) Compute(
        Dictionary<string, Tensor> predictions, Dictionary<string, Tensor> targets, IReadOnlyList<TaskConfig> tasks, double eps)
    {
        ArgumentNullException.ThrowIfNull(predictions);
        ArgumentNullException.ThrowIfNull(targets);
        ArgumentNullException.ThrowIfNull(tasks);
        if (tasks.Count == 0) throw new ArgumentException("at least one task is needed to compute a loss", nameof(tasks));

        var perTask = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var task in tasks)
        {
            if (!predictions.TryGetValue(task.Name, out var p))
                throw new ArgumentException($"no prediction for task '{task.Name}'", nameof(predictions));
            if (!targets.TryGetValue(task.Name, out var y))
                throw new ArgumentException($"no target for task '{task.Name}'", nameof(targets));
            perTask[task.Name] = task.IsSoftmax ? SoftmaxNll(task, p, y, eps) : SigmoidBce(task, p, y);
        }
        var total = stack(perTask.Values.ToArray()).mean();
        return (total, perTask);
    }

    private static Tensor SoftmaxNll(TaskConfig task, Tensor probs, Tensor target, double eps)
    {
        if (probs.dim() != 2 || target.dim() != 1 || target.shape[0] != probs.shape[0])
            throw new ArgumentException(
                $"task '{task.Name}' (softmax): expected probabilities [B, n_class] and class indices [B], got "
                + $"[{string.Join(", ", probs.shape)}] and [{string.Join(", ", target.shape)}]");
        if (target.is_floating_point())
            throw new ArgumentException($"task '{task.Name}' (softmax): class indices must be integers, got {target.dtype}");
        var classes = target.to(int64);
        var nClass = probs.shape[1];
        if (classes.numel() > 0 && (classes.min().item<long>() < 0 || classes.max().item<long>() >= nClass))
            throw new ArgumentException($"task '{task.Name}' (softmax): class indices must be in [0, {nClass})");
        return nn.functional.nll_loss(log(probs + eps), classes);
    }

    private static Tensor SigmoidBce(TaskConfig task, Tensor probs, Tensor target)
    {
        if (probs.numel() != target.numel() || probs.shape[0] != target.shape[0])
            throw new ArgumentException(
                $"task '{task.Name}' (sigmoid): expected targets shaped like the probabilities [B, n_class], got "
                + $"[{string.Join(", ", probs.shape)}] and [{string.Join(", ", target.shape)}]");
        return nn.functional.binary_cross_entropy(probs.reshape(-1), target.reshape(-1).to(probs.dtype));
    }
}
