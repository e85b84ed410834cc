using Ips.IO;

namespace Ips.Tests.IO;

public sealed class PrefetchPipelineTests
{
    /// <summary>An item that counts how many items are alive, so a test can see that every one was freed.</summary>
    private sealed class Item(int index, Counter counter) : IDisposable
    {
        private int _disposed;

        public int Index { get; } = index;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                Interlocked.Decrement(ref counter.Alive);
            }
        }
    }

    private sealed class Counter
    {
        public int Alive;
        public int Loaded;

        public Item Load(int index)
        {
            Interlocked.Increment(ref Loaded);
            Interlocked.Increment(ref Alive);
            return new Item(index, this);
        }
    }

    private static void DisposeAll(Item[] batch)
    {
        foreach (var item in batch)
        {
            item.Dispose();
        }
    }

    private static PrefetchPipeline<Item, Item[]> Pipeline(
        Counter counter, int count, int batchSize, int workers, int capacity = 2, Func<int, Item>? load = null, CancellationToken cancel = default) =>
        new(count, batchSize, load ?? counter.Load, (_, items) => items, DisposeAll, workers, capacity, cancel);

    [Theory]
    [InlineData(1, 1)]
    [InlineData(4, 3)]
    [InlineData(8, 5)]
    public void Batches_come_in_order_with_consecutive_items_whatever_order_the_workers_finish_in(int workers, int batchSize)
    {
        var counter = new Counter();
        // Later items finish first, so an unordered hand-over would show.
        using var pipeline = Pipeline(counter, 23, batchSize, workers, load: i =>
        {
            Thread.Sleep((23 - i) % 4);
            return counter.Load(i);
        });

        var seen = new List<int>();
        var sizes = new List<int>();
        foreach (var batch in pipeline.Batches())
        {
            seen.AddRange(batch.Select(item => item.Index));
            sizes.Add(batch.Length);
            DisposeAll(batch);
        }

        Assert.Equal(Enumerable.Range(0, 23), seen);
        Assert.Equal((23 + batchSize - 1) / batchSize, pipeline.BatchCount);
        Assert.All(sizes.SkipLast(1), size => Assert.Equal(batchSize, size));
        Assert.Equal(23 - (sizes.Count - 1) * batchSize, sizes[^1]);
        Assert.Equal(0, counter.Alive);
    }

    [Fact]
    public void Combine_runs_on_a_worker_with_the_batch_index_and_its_result_is_what_the_consumer_gets()
    {
        var consumer = Environment.CurrentManagedThreadId;
        var counter = new Counter();
        var threads = new List<int>();
        using var pipeline = new PrefetchPipeline<Item, string>(10, 4, counter.Load, (b, items) =>
        {
            lock (threads)
            {
                threads.Add(Environment.CurrentManagedThreadId);
            }
            var text = $"{b}:{string.Join(",", items.Select(item => item.Index))}";
            DisposeAll(items);
            return text;
        }, _ => { }, workers: 2, capacity: 1);

        Assert.Equal(["0:0,1,2,3", "1:4,5,6,7", "2:8,9"], pipeline.Batches());
        Assert.DoesNotContain(consumer, threads);
        Assert.Equal(0, counter.Alive);
    }

    [Fact]
    public void At_most_capacity_finished_batches_and_one_loading_are_held_ahead_of_the_consumer()
    {
        var counter = new Counter();
        using var pipeline = Pipeline(counter, 100, batchSize: 3, workers: 4, capacity: 2);
        using var batches = pipeline.Batches().GetEnumerator();
        Assert.True(batches.MoveNext());
        DisposeAll(batches.Current);

        // The consumer has taken batch 0 and stalls: the workers get as far as batch 3 (1 and 2 finished, 3 loading)
        // and no further.
        AssertLoadsStopAt(counter, 4 * 3);

        Assert.True(batches.MoveNext());
        DisposeAll(batches.Current);
        AssertLoadsStopAt(counter, 5 * 3);
    }

    private static void AssertLoadsStopAt(Counter counter, int expected)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (Volatile.Read(ref counter.Loaded) < expected && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(5);
        }
        Thread.Sleep(200);
        Assert.Equal(expected, Volatile.Read(ref counter.Loaded));
    }

    [Fact]
    public void A_load_failure_reaches_the_consumer_as_the_original_exception_after_the_batches_before_it()
    {
        var counter = new Counter();
        using var pipeline = Pipeline(counter, 20, batchSize: 4, workers: 3, load: i =>
            i == 9 ? throw new InvalidDataException("tile 9 of slide.tif is corrupt") : counter.Load(i));

        var delivered = new List<int>();
        var error = Assert.Throws<InvalidDataException>(() =>
        {
            foreach (var batch in pipeline.Batches())
            {
                delivered.Add(batch[0].Index);
                DisposeAll(batch);
            }
        });

        Assert.Equal("tile 9 of slide.tif is corrupt", error.Message);
        Assert.Equal([0, 4], delivered);
        pipeline.Dispose();
        Assert.Equal(0, counter.Alive);
    }

    [Fact]
    public void A_combine_failure_reaches_the_consumer_and_the_items_it_owned_are_its_to_free()
    {
        var counter = new Counter();
        using var pipeline = new PrefetchPipeline<Item, Item[]>(8, 2, counter.Load, (b, items) =>
        {
            if (b == 2)
            {
                DisposeAll(items);
                throw new InvalidDataException("tiles of different sizes");
            }
            return items;
        }, DisposeAll, workers: 2, capacity: 2);

        var taken = 0;
        var error = Assert.Throws<InvalidDataException>(() =>
        {
            foreach (var batch in pipeline.Batches())
            {
                taken++;
                DisposeAll(batch);
            }
        });

        Assert.Equal("tiles of different sizes", error.Message);
        Assert.Equal(2, taken);
        pipeline.Dispose();
        Assert.Equal(0, counter.Alive);
    }

    [Fact]
    public void Cancellation_stops_the_consumer_and_disposal_frees_what_was_loaded()
    {
        var counter = new Counter();
        using var stop = new CancellationTokenSource();
        using var pipeline = Pipeline(counter, 1000, batchSize: 2, workers: 2, load: i =>
        {
            Thread.Sleep(1);
            return counter.Load(i);
        }, cancel: stop.Token);

        var taken = 0;
        Assert.ThrowsAny<OperationCanceledException>(() =>
        {
            foreach (var batch in pipeline.Batches())
            {
                DisposeAll(batch);
                if (++taken == 3)
                {
                    stop.Cancel();
                }
            }
        });

        Assert.Equal(3, taken);
        pipeline.Dispose();
        Assert.Equal(0, counter.Alive);
        Assert.InRange(counter.Loaded, 6, 6 + 4 * 2);
    }

    [Fact]
    public void Disposing_before_the_end_frees_every_undelivered_item_and_batch()
    {
        var counter = new Counter();
        var pipeline = Pipeline(counter, 50, batchSize: 5, workers: 4, capacity: 3);
        var first = pipeline.Batches().First();
        Thread.Sleep(100);

        pipeline.Dispose();

        Assert.Equal(5, counter.Alive);
        DisposeAll(first);
        Assert.Equal(0, counter.Alive);
        Assert.Throws<ObjectDisposedException>(() => pipeline.Batches().First());
    }

    [Fact]
    public void No_items_give_no_batches()
    {
        var counter = new Counter();
        using var pipeline = Pipeline(counter, 0, batchSize: 4, workers: 2);

        Assert.Empty(pipeline.Batches());
        Assert.Equal(0, pipeline.BatchCount);
    }
}
