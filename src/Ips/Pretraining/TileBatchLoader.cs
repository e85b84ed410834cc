using System.Collections.Concurrent;
using Ips.Slides.TileSets;
using Ips.Training;
using static TorchSharp.torch;

namespace Ips.Pretraining;

/// <summary>
/// Decodes the batches of one pass over a tile set on background threads (<c>n_worker</c> at a time) and hands them
/// over through a bounded queue, so decoding overlaps with the training step; the pattern of
/// <see cref="BatchPipeline"/>, for tiles. Each batch is <c>[B, 3, H, W]</c> in [0, 1] on the CPU, owned by the consumer.
/// </summary>
public sealed class TileBatchLoader : IDisposable
{
    private readonly BlockingCollection<Tensor> _queue;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _producer;

    /// <summary>Starts decoding <paramref name="order"/> in consecutive batches of <paramref name="batchSize"/> (a short last batch is dropped).</summary>
    public TileBatchLoader(ITileSet tiles, IReadOnlyList<int> order, int batchSize, int workers, int capacity = 2)
    {
        ArgumentNullException.ThrowIfNull(tiles);
        ArgumentNullException.ThrowIfNull(order);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        _queue = new BlockingCollection<Tensor>(Math.Max(1, capacity));
        BatchCount = order.Count / batchSize;
        _producer = Task.Run(() => Produce(tiles, order, batchSize, Math.Max(1, workers)));
    }

    /// <summary>Number of batches the pass yields.</summary>
    public int BatchCount { get; }

    /// <summary>The batches in order; a decoding failure of the producer surfaces here.</summary>
    public IEnumerable<Tensor> Batches()
    {
        foreach (var batch in _queue.GetConsumingEnumerable())
        {
            yield return batch;
        }
        _producer.GetAwaiter().GetResult();
    }

    private void Produce(ITileSet tiles, IReadOnlyList<int> order, int batchSize, int workers)
    {
        try
        {
            var options = new ParallelOptions { MaxDegreeOfParallelism = workers, CancellationToken = _stop.Token };
            for (var b = 0; b < BatchCount; b++)
            {
                var decoded = new Tensor[batchSize];
                try
                {
                    Parallel.For(0, batchSize, options, i => decoded[i] = tiles.Load(order[b * batchSize + i]));
                    CheckSizes(tiles, order, b * batchSize, decoded);
                    _queue.Add(stack(decoded), _stop.Token);
                }
                finally
                {
                    foreach (var tile in decoded)
                    {
                        tile?.Dispose();
                    }
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            // The consumer stopped early (Ctrl-C or an error); nothing more to decode.
        }
        finally
        {
            _queue.CompleteAdding();
        }
    }

    private static void CheckSizes(ITileSet tiles, IReadOnlyList<int> order, int start, Tensor[] decoded)
    {
        for (var i = 0; i < decoded.Length; i++)
        {
            if (decoded[i].dim() != 3 || decoded[i].shape[0] != 3 || !decoded[i].shape.SequenceEqual(decoded[0].shape))
            {
                throw new InvalidDataException(
                    $"tile {tiles.Describe(order[start + i])} is [{string.Join(", ", decoded[i].shape)}] but " +
                    $"{tiles.Describe(order[start])} is [{string.Join(", ", decoded[0].shape)}]; pre-training needs RGB tiles of one size.");
            }
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
            // A producer failure was already reported through Batches(), or the pass was abandoned.
        }
        while (_queue.TryTake(out var batch))
        {
            batch.Dispose();
        }
        _queue.Dispose();
        _stop.Dispose();
    }
}
