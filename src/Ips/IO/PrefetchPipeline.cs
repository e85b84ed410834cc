using System.Runtime.ExceptionServices;

namespace Ips.IO;

/// <summary>
/// Loads items on background worker threads ahead of one consumer and hands them over in order, in batches of
/// consecutive items, so that decoding overlaps with compute. TorchSharp has no prefetching data loader; this is its
/// replacement (docs/design.md section 4), shared by training, BYOL pre-training and feature extraction.
/// </summary>
/// <remarks>
/// Workers take items in index order, so the items of one batch load in parallel and the next batch starts while
/// the last items of the current one finish. The worker that completes a batch combines it (stacking tiles, say),
/// off the consumer's thread. Memory is bounded: at most <c>capacity</c> batches wait finished for the consumer and
/// one more is being loaded. A failure of <c>load</c> or <c>combine</c> reaches the consumer as the original
/// exception, after every batch before the failing one; disposing stops the workers and frees what was loaded and
/// never handed over.
/// </remarks>
/// <typeparam name="TItem">What one load returns (a sample, a decoded tile); disposed here if it never reaches a batch.</typeparam>
/// <typeparam name="TBatch">What the consumer receives and then owns.</typeparam>
public sealed class PrefetchPipeline<TItem, TBatch> : IDisposable
    where TItem : IDisposable
{
    private readonly int _count;
    private readonly int _batchSize;
    private readonly int _capacity;
    private readonly Func<int, TItem> _load;
    private readonly Func<int, TItem[], TBatch> _combine;
    private readonly Action<TBatch> _release;
    private readonly CancellationToken _cancel;
    private readonly CancellationTokenRegistration _wakeOnCancel;
    private readonly Task[] _workers;

    // Everything below is guarded by _gate. A plain object, not a System.Threading.Lock: workers and the consumer
    // wait on it for one another with Monitor.Wait, which Lock does not offer.
    private readonly object _gate = new();
    private readonly Dictionary<int, PartialBatch> _loading = [];
    private readonly Dictionary<int, TBatch> _ready = [];
    private int _nextItem;
    private int _delivered;
    private int _failedBatch = int.MaxValue;
    private ExceptionDispatchInfo? _failure;
    private bool _stopping;
    private bool _disposed;

    /// <summary>Starts loading items <c>0 .. count - 1</c> in batches of <paramref name="batchSize"/> (the last one holds the rest).</summary>
    /// <param name="count">Number of items.</param>
    /// <param name="batchSize">Consecutive items per batch.</param>
    /// <param name="load">Loads item i; called on several worker threads at once.</param>
    /// <param name="combine">Makes batch b from its items, in order; takes ownership of the items.</param>
    /// <param name="release">Frees a batch that was combined but never handed to the consumer.</param>
    /// <param name="workers">Loader threads (at least one).</param>
    /// <param name="capacity">Finished batches that may wait for the consumer (at least one).</param>
    /// <param name="cancel">Stops loading; the consumer then gets an <see cref="OperationCanceledException"/>.</param>
    public PrefetchPipeline(
        int count, int batchSize, Func<int, TItem> load, Func<int, TItem[], TBatch> combine, Action<TBatch> release,
        int workers, int capacity, CancellationToken cancel = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        ArgumentNullException.ThrowIfNull(load);
        ArgumentNullException.ThrowIfNull(combine);
        ArgumentNullException.ThrowIfNull(release);
        (_count, _batchSize, _capacity) = (count, batchSize, Math.Max(1, capacity));
        (_load, _combine, _release, _cancel) = (load, combine, release, cancel);
        BatchCount = (count + batchSize - 1) / batchSize;
        _wakeOnCancel = cancel.Register(Wake);
        // Dedicated threads: workers block while the consumer is behind, which would starve the thread pool.
        _workers = Enumerable.Range(0, Math.Max(1, workers))
            .Select(_ => Task.Factory.StartNew(Work, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default))
            .ToArray();
    }

    /// <summary>Number of batches the pipeline yields.</summary>
    public int BatchCount { get; }

    /// <summary>
    /// The batches in order, each owned by the consumer once yielded. A failure to load or combine a batch is thrown
    /// here, as it was thrown on the worker, when the consumer reaches that batch. Enumerate once.
    /// </summary>
    public IEnumerable<TBatch> Batches()
    {
        for (var batch = 0; batch < BatchCount; batch++)
        {
            yield return Take(batch);
        }
    }

    private TBatch Take(int batch)
    {
        lock (_gate)
        {
            while (true)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                _cancel.ThrowIfCancellationRequested();
                if (_ready.Remove(batch, out var ready))
                {
                    _delivered++;
                    Monitor.PulseAll(_gate);
                    return ready;
                }
                if (_failedBatch <= batch)
                {
                    _failure!.Throw();
                }
                Monitor.Wait(_gate);
            }
        }
    }

    private void Work()
    {
        while (TryClaim(out var index))
        {
            var batch = index / _batchSize;
            TItem item;
            try
            {
                item = _load(index);
            }
            catch (Exception error)
            {
                Fail(batch, error);
                return;
            }
            TItem[]? complete = null;
            lock (_gate)
            {
                var partial = _loading[batch];
                partial.Items[index - batch * _batchSize] = item;
                if (--partial.Missing == 0)
                {
                    _loading.Remove(batch);
                    complete = partial.Items!;
                }
            }
            if (complete is null)
            {
                continue;
            }
            try
            {
                var combined = _combine(batch, complete);
                lock (_gate)
                {
                    _ready.Add(batch, combined);
                    Monitor.PulseAll(_gate);
                }
            }
            catch (Exception error)
            {
                Fail(batch, error);
                return;
            }
        }
    }

    // Items are claimed in index order, so every item before a claimed one has been claimed too: the batches before a
    // failing one always complete, and the consumer sees them before the failure.
    private bool TryClaim(out int index)
    {
        lock (_gate)
        {
            while (true)
            {
                if (_stopping || _cancel.IsCancellationRequested || _nextItem >= _count)
                {
                    index = -1;
                    return false;
                }
                var batch = _nextItem / _batchSize;
                if (batch <= _delivered + _capacity)
                {
                    break;
                }
                Monitor.Wait(_gate);
            }
            index = _nextItem++;
            if (index % _batchSize == 0)
            {
                _loading.Add(index / _batchSize, new PartialBatch(Math.Min(_batchSize, _count - index)));
            }
            return true;
        }
    }

    private void Fail(int batch, Exception error)
    {
        lock (_gate)
        {
            // The earliest failing batch is the one the consumer reaches first.
            if (batch < _failedBatch)
            {
                (_failedBatch, _failure) = (batch, ExceptionDispatchInfo.Capture(error));
            }
            _stopping = true;
            Monitor.PulseAll(_gate);
        }
    }

    private void Wake()
    {
        lock (_gate)
        {
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>Stops the workers, waits for the items in flight, and frees every item and batch not handed over.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }
            (_disposed, _stopping) = (true, true);
            Monitor.PulseAll(_gate);
        }
        Task.WaitAll(_workers);
        _wakeOnCancel.Dispose();
        foreach (var batch in _ready.Values)
        {
            _release(batch);
        }
        foreach (var item in _loading.Values.SelectMany(partial => partial.Items))
        {
            item?.Dispose();
        }
        _ready.Clear();
        _loading.Clear();
    }

    private sealed class PartialBatch(int size)
    {
        public TItem?[] Items { get; } = new TItem?[size];

        public int Missing { get; set; } = size;
    }
}
