using Ips.Data;
using Ips.IO;

namespace Ips.Training;

/// <summary>
/// How training and evaluation load a data set: its examples in a given order on the loader threads, <c>B_seq</c> to
/// a group (one data-loader iteration, the last group holding the rest), with at most two finished groups and one
/// being loaded ahead of selection.
/// </summary>
internal static class SampleGroups
{
    /// <summary>Starts loading the examples of <paramref name="order"/>; the consumer owns each group it takes.</summary>
    public static PrefetchPipeline<IpsSample, IpsSample[]> Load(IIpsDataset data, IReadOnlyList<int> order, int bSeq, bool train, int workers) =>
        new(order.Count, bSeq, i => data.Load(order[i], train), (_, group) => group, DisposeAll, workers, capacity: 2);

    private static void DisposeAll(IpsSample[] group)
    {
        foreach (var sample in group)
        {
            sample.Dispose();
        }
    }
}
