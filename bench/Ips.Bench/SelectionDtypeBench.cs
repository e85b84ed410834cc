using System.Diagnostics;
using Ips.Modeling;
using Ips.Patches;
using Ips.Selection;
using static TorchSharp.torch;

namespace Ips.Bench;

/// <summary>
/// Selection with the encoder in float32 against bfloat16 (<c>selection_dtype</c>) on the same images and seed:
/// the time of each, how far the selected sets differ, and how far the network's predictions on them move.
/// </summary>
internal static class SelectionDtypeBench
{
    /// <summary>Selections per precision, interleaved float32, bfloat16, float32, ...; the fastest of each is kept.</summary>
    private const int Repeats = 2;

    /// <summary>Compares the two precisions on <paramref name="sources"/> (selected as one batch) with <paramref name="net"/>.</summary>
    public static SelectionDtypeRow Compare(string name, IpsNet net, IReadOnlyList<IPatchSource> sources, Device device)
    {
        var selector = new IterativePatchSelector(net);
        var float32Ms = double.MaxValue;
        var bfloat16Ms = double.MaxValue;
        Selected? reference = null;
        Selected? rounded = null;
        for (var repeat = 0; repeat < Repeats; repeat++)
        {
            foreach (var inBfloat16 in new[] { false, true })
            {
                selector.EncodeInBfloat16 = inBfloat16;
                using var generator = new Generator(1234);
                var clock = Stopwatch.StartNew();
                using var selection = selector.Select(sources, device, generator);
                using var indices = selection.Indices.cpu();
                var ms = clock.Elapsed.TotalMilliseconds;
                var selected = new Selected(indices.data<long>().ToArray(), Predict(net, selection));
                if (inBfloat16)
                {
                    (bfloat16Ms, rounded) = (Math.Min(bfloat16Ms, ms), selected);
                }
                else
                {
                    (float32Ms, reference) = (Math.Min(float32Ms, ms), selected);
                }
            }
        }
        var m = selector.M;
        var jaccards = new List<double>();
        var differing = 0;
        for (var image = 0; image < sources.Count; image++)
        {
            var a = reference!.Indices.AsSpan(image * m, m).ToArray().ToHashSet();
            var b = rounded!.Indices.AsSpan(image * m, m).ToArray().ToHashSet();
            var common = a.Intersect(b).Count();
            jaccards.Add((double)common / (a.Count + b.Count - common));
            differing += m - common;
        }
        return new SelectionDtypeRow
        {
            Case = name,
            Images = sources.Count,
            M = m,
            Float32Ms = float32Ms,
            Bfloat16Ms = bfloat16Ms,
            MeanJaccard = jaccards.Average(),
            MinJaccard = jaccards.Min(),
            DifferingIndices = differing,
            MaxProbabilityDifference = reference!.Probabilities.Zip(rounded!.Probabilities, (x, y) => Math.Abs(x - y)).Max(),
        };
    }

    /// <summary>The network's output probabilities (all tasks, all classes, flattened) on the selected patches, in evaluation mode.</summary>
    private static float[] Predict(IpsNet net, SelectionResult selection)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var training = net.training;
        net.eval();
        try
        {
            var predictions = net.call(selection.Patches, selection.PositionalEncoding);
            return cat(predictions.Values.Select(p => p.flatten()).ToArray(), 0).data<float>().ToArray();
        }
        finally
        {
            net.train(training);
        }
    }

    private sealed record Selected(long[] Indices, float[] Probabilities);
}
