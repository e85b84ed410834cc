namespace Ips.Slides;

/// <summary>
/// Decoded tiles kept by recency within a byte budget (least recently used dropped first), shared by the threads
/// reading one slide. A dropped tile's buffer is handed out again by <see cref="Rent"/> for the next decode, so a
/// long pass over a large slide decodes into a few recycled buffers instead of leaving a new 196 KiB array on the
/// large-object heap per tile (fresh pages the process has to fault in and the collector has to reclaim). Because
/// buffers are recycled, a stored tile is only read inside <see cref="TryUse"/>, under the cache's lock.
/// </summary>
internal sealed class TileCache(long capacityBytes)
{
    // Dropped buffers waiting to be rented; a pass evicts about as many as it decodes, so a few suffice.
    private const int MaxSpare = 8;

    private readonly Dictionary<(int Level, int Tile), LinkedListNode<Entry>> _index = [];
    private readonly LinkedList<Entry> _recency = new();
    private readonly Stack<byte[]> _spare = new();
    private readonly Lock _lock = new();

    /// <summary>The byte budget.</summary>
    public long CapacityBytes { get; } = capacityBytes;

    /// <summary>Bytes held now.</summary>
    public long SizeBytes { get; private set; }

    /// <summary>
    /// Calls <paramref name="use"/> with the tile stored under (<paramref name="level"/>, <paramref name="tile"/>),
    /// marked most recent, while no other thread can drop it; false when the tile is not stored. <paramref name="use"/>
    /// must not keep the array.
    /// </summary>
    public bool TryUse(int level, int tile, Action<byte[]> use)
    {
        lock (_lock)
        {
            if (!_index.TryGetValue((level, tile), out var node))
            {
                return false;
            }
            _recency.Remove(node);
            _recency.AddFirst(node);
            use(node.Value.Pixels);
            return true;
        }
    }

    /// <summary>A buffer of <paramref name="length"/> bytes for a decode: a dropped tile's, or a new one. Its content is undefined.</summary>
    public byte[] Rent(int length)
    {
        lock (_lock)
        {
            while (_spare.TryPop(out var buffer))
            {
                if (buffer.Length == length)
                {
                    return buffer;
                }
            }
        }
        return new byte[length];
    }

    /// <summary>
    /// Stores a decoded tile, dropping the least recently used ones beyond the budget. The cache owns
    /// <paramref name="pixels"/> from now on: the caller must not read or write it again.
    /// </summary>
    public void Add(int level, int tile, byte[] pixels)
    {
        lock (_lock)
        {
            if (pixels.LongLength > CapacityBytes || _index.ContainsKey((level, tile)))
            {
                Recycle(pixels);
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
                Recycle(last.Value.Pixels);
            }
        }
    }

    private void Recycle(byte[] buffer)
    {
        if (_spare.Count < MaxSpare)
        {
            _spare.Push(buffer);
        }
    }

    private sealed record Entry(int Level, int Tile, byte[] Pixels);
}
