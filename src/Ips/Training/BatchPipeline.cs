using System.Collections.Concurrent;
using Ips.Data;

namespace Ips.Training;

/// <summary>
/// Loads the examples of one epoch on background threads, <c>B_seq</c> at a time, in the given order, and hands
/// them over through a bounded queue so that decoding and rendering overlap with selection and training.
/// TorchSharp has no prefetching data loader; this is its replacement (DESIGN.md).
/// </summary>
internal sealed class BatchPipeline : IDisposable
{
    private readonly BlockingCollection<IReadOnlyList<IpsSample>> _queue;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _producer;

    /// <summary>Starts loading <paramref name="order"/> in groups of <paramref name="groupSize"/>.</summary>
    public BatchPipeline(IIpsDataset dataset, IReadOnlyList<int> order, int groupSize, bool train, int workers, int capacity)
    {
        _queue = new BlockingCollection<IReadOnlyList<IpsSample>>(Math.Max(1, capacity));
        GroupCount = (order.Count + groupSize - 1) / groupSize;
        _producer = Task.Run(() => Produce(dataset, order, groupSize, train, Math.Max(1, workers)));
    }

    /// <summary>Number of groups (data-loader iterations) this epoch yields.</summary>
    public int GroupCount { get; }

    /// <summary>The groups in order; an exception of the producer surfaces here.</summary>
    public IEnumerable<IReadOnlyList<IpsSample>> Groups()
    {
        foreach (var group in _queue.GetConsumingEnumerable())
        {
            yield return group;
        }
        // Rethrows a failure of the producer (a corrupt file, say) on the training thread.
        _producer.GetAwaiter().GetResult();
    }

    private void Produce(IIpsDataset dataset, IReadOnlyList<int> order, int groupSize, bool train, int workers)
    {
        try
        {
            var options = new ParallelOptions { MaxDegreeOfParallelism = workers, CancellationToken = _stop.Token };
            for (var start = 0; start < order.Count; start += groupSize)
            {
                var count = Math.Min(groupSize, order.Count - start);
                var group = new IpsSample[count];
                Parallel.For(0, count, options, i => group[i] = dataset.Load(order[start + i], train));
                _queue.Add(group, _stop.Token);
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            // The consumer stopped early (Ctrl-C or an error); nothing more to load.
        }
        finally
        {
            _queue.CompleteAdding();
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _stop.Cancel();
        try
        {
            _producer.Wait();
        }
        catch (AggregateException)
        {
            // A producer failure was already reported through Groups(), or the epoch was abandoned.
        }
        while (_queue.TryTake(out var group))
        {
            foreach (var sample in group)
            {
                sample.Dispose();
            }
        }
        _queue.Dispose();
        _stop.Dispose();
    }
}
