using System.Globalization;
using Ips.Configuration;
using Ips.Patches;
using static TorchSharp.torch;

namespace Ips.Inference;

/// <summary>What a prediction derives from its probabilities: the class per task, and a clear error when they are not numbers.</summary>
internal static class PredictionChecks
{
    /// <summary>The probability from which a sigmoid output counts as positive.</summary>
    public const float SigmoidThreshold = 0.5f;

    /// <summary>Per task: the argmax class for softmax, the classes with probability &gt;= <see cref="SigmoidThreshold"/> for sigmoid (multi-label).</summary>
    public static IReadOnlyDictionary<string, object> Classes(IpsConfig config, IReadOnlyDictionary<string, float[]> probabilities) =>
        config.Tasks.Where(t => probabilities.ContainsKey(t.Name)).ToDictionary(
            t => t.Name,
            t =>
            {
                var p = probabilities[t.Name];
                return t.ActFn == "sigmoid"
                    ? (object)Enumerable.Range(0, p.Length).Where(i => p[i] >= SigmoidThreshold).ToArray()
                    : Array.IndexOf(p, p.Max());
            });

    /// <summary>
    /// Per task whose class names the config records: the predicted class by name with its probability (softmax), or
    /// every class with probability &gt;= <see cref="SigmoidThreshold"/> (sigmoid), highest first. Null when no task names its classes.
    /// </summary>
    public static IReadOnlyDictionary<string, IReadOnlyList<NamedClass>>? Named(IpsConfig config, IReadOnlyDictionary<string, float[]> probabilities)
    {
        var named = config.Tasks.Where(t => t.Classes is not null && probabilities.ContainsKey(t.Name)).ToDictionary(
            t => t.Name,
            t =>
            {
                var p = probabilities[t.Name];
                var chosen = t.IsSoftmax ? [Array.IndexOf(p, p.Max())] : Enumerable.Range(0, p.Length).Where(i => p[i] >= SigmoidThreshold);
                return (IReadOnlyList<NamedClass>)[.. chosen.OrderByDescending(i => p[i]).Select(i => new NamedClass(t.ClassName(i), p[i]))];
            });
        return named.Count == 0 ? null : named;
    }

    /// <summary>
    /// Per sigmoid task, its decision spelled out, since <c>"classes": [0]</c> of a one-output task reads as "class 0"
    /// to anyone who has not read the docs: whether each output is positive, and the threshold. Null without
    /// sigmoid tasks.
    /// </summary>
    public static IReadOnlyDictionary<string, SigmoidDecision>? Decisions(IpsConfig config, IReadOnlyDictionary<string, float[]> probabilities)
    {
        var decisions = config.Tasks.Where(t => t.ActFn == "sigmoid" && probabilities.ContainsKey(t.Name)).ToDictionary(
            t => t.Name,
            t =>
            {
                var positive = probabilities[t.Name].Select(p => p >= SigmoidThreshold).ToArray();
                return new SigmoidDecision(positive.Length == 1 ? positive[0] : positive, SigmoidThreshold);
            });
        return decisions.Count == 0 ? null : decisions;
    }

    /// <summary>
    /// One task's prediction in words, for a picture's title: a sigmoid task's decision and probability (from
    /// <paramref name="decisions"/>), else the softmax class, by its name where <paramref name="config"/> records the
    /// task's class names (as <c>ips predict</c> prints it), and its probability.
    /// </summary>
    public static string Describe(IpsConfig config, string task, float[] probabilities, IReadOnlyDictionary<string, SigmoidDecision>? decisions)
    {
        string Number(float p) => p.ToString("0.000", CultureInfo.InvariantCulture);
        if (decisions is not null && decisions.TryGetValue(task, out var decision))
        {
            return decision.Positive is bool positive
                ? $"{task}: {(positive ? "positive" : "negative")}, p = {Number(probabilities[0])}"
                : $"{task}: p = {string.Join(", ", probabilities.Select(Number))}";
        }
        int best = Array.IndexOf(probabilities, probabilities.Max());
        var named = config.Tasks.FirstOrDefault(t => t.Name == task) is { Classes: not null } withNames ? withNames.ClassName(best) : null;
        return $"{task}: {named ?? $"class {best}"}, p = {Number(probabilities[best])}";
    }

    /// <summary>
    /// Throws <see cref="InvalidDataException"/> naming <paramref name="input"/> when a probability is NaN or infinite,
    /// saying whether the input itself holds such values (the usual cause) or the model produced them.
    /// </summary>
    public static void RequireFinite(string input, IReadOnlyDictionary<string, float[]> probabilities, IPatchSource source)
    {
        if (probabilities.Values.All(p => p.All(float.IsFinite)))
        {
            return;
        }
        const int Chunk = 256;
        for (var start = 0; start < source.Count; start += Chunk)
        {
            using var scope = NewDisposeScope();
            var patches = source.Read(start, Math.Min(Chunk, source.Count - start)); // [c, *patch]
            var bad = isfinite(patches).logical_not().flatten(1).any(1).nonzero();   // [k, 1]
            if (bad.shape[0] > 0)
            {
                throw new InvalidDataException(
                    $"{input}: the input holds NaN or infinite values (first in patch {start + bad[0, 0].item<long>()}), so the prediction is not a number; clean or drop such patches");
            }
        }
        throw new InvalidDataException($"{input}: the model's probabilities are NaN or infinite although the input is finite; are the weights damaged?");
    }
}
