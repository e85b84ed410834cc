namespace Ips.Slides;

/// <summary>
/// Decoded tiles kept by recency within a byte budget (least recently used dropped first), shared by the threads
/// reading one slide. Tiles are immutable once stored; callers must not write to a returned array.
/// </summary>
internal sealed class TileCache(long capacityBytes)
{
    private readonly Dictionary<(int Level, int Tile), LinkedListNode<Entry>> _index = [];
    private readonly LinkedList<Entry> _recency = new();
    private readonly Lock _lock = new();

    /// <summary>The byte budget.</summary>
    public long CapacityBytes { get; } = capacityBytes;

    /// <summary>Bytes held now.</summary>
    public long SizeBytes { get; private set; }

    /// <summary>The tile stored under (<paramref name="level"/>, <paramref name="tile"/>), marked most recent, or null.</summary>
    public byte[]? Get(int level, int tile)
    {
        lock (_lock)
        {
            if (!_index.TryGetValue((level, tile), out var node))
            {
                return null;
            }
            _recency.Remove(node);
            _recency.AddFirst(node);
            return node.Value.Pixels;
        }
    }

    /// <summary>Stores a decoded tile, dropping the least recently used ones beyond the budget.</summary>
    public void Add(int level, int tile, byte[] pixels)
    {
        if (pixels.LongLength > CapacityBytes)
        {
            return;
        }
        lock (_lock)
        {
            if (_index.ContainsKey((level, tile)))
            {
                return;
            }
            _index[(level, tile)] = _recency.AddFirst(new Entry(level, tile, pixels));
            SizeBytes += pixels.LongLength;
            while (SizeBytes > CapacityBytes)
            {
                var last = _recency.Last!;
                _recency.RemoveLast();
                _index.Remove((last.Value.Level, last.Value.Tile));
                SizeBytes -= last.Value.Pixels.LongLength;
            }
        }
    }

    private sealed record Entry(int Level, int Tile, byte[] Pixels);
}
