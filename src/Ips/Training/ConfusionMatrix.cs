namespace Ips.Training;

/// <summary>
/// A softmax task's results per class: <c>Counts[t][p]</c> is the number of examples of true class <c>t</c> predicted
/// as <c>p</c> (argmax, first maximum on ties, as <c>accuracy</c>), with the class names in output order.
/// </summary>
/// <param name="Classes">The class names (the config's <c>classes</c>, or the indices as text).</param>
/// <param name="Counts">The matrix, true class by row, predicted class by column.</param>
public sealed record ConfusionMatrix(IReadOnlyList<string> Classes, int[][] Counts)
{
    /// <summary>The matrix of the softmax predictions and targets in <paramref name="state"/>, as an accumulator holds them.</summary>
    public static ConfusionMatrix From(AccumulatorState state, IReadOnlyList<string> classes)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(classes);
        var counts = classes.Select(_ => new int[classes.Count]).ToArray();
        for (var i = 0; i < state.Probs.Length; i++)
        {
            var p = state.Probs[i];
            counts[(int)state.Targets[i][0]][Array.IndexOf(p, p.Max())]++;
        }
        return new ConfusionMatrix(classes, counts);
    }

    /// <summary>Per class, the fraction of its examples predicted as it (recall); NaN for a class without examples.</summary>
    public double[] PerClassAccuracy() =>
        [.. Counts.Select((row, t) => row.Sum() == 0 ? double.NaN : (double)row[t] / row.Sum())];

    /// <summary>The mean of <see cref="PerClassAccuracy"/> over the classes that have examples (scikit-learn's balanced_accuracy_score).</summary>
    public double BalancedAccuracy()
    {
        var present = PerClassAccuracy().Where(a => !double.IsNaN(a)).ToList();
        return present.Count == 0 ? double.NaN : present.Average();
    }
}
