using Ips.Slides;

namespace Ips.Viewer;

/// <summary>
/// The slides the viewer has open, at most <see cref="Capacity"/> at a time (each reader keeps its own bounded tile
/// cache, so the count bounds memory across a cohort): opening one more closes the least recently used, as soon as
/// no request still reads it. A slide that fails to open is remembered with its error and not tried again.
/// </summary>
internal sealed class OpenSlides(int capacity, Func<string, ISlide> open) : IDisposable
{
    private readonly LinkedList<Handle> _recency = new();
    private readonly Dictionary<string, LinkedListNode<Handle>> _byPath = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Exception> _failed = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    /// <summary>How many slides may be open at once.</summary>
    public int Capacity { get; } = capacity;

    /// <summary>
    /// The slide at <paramref name="path"/>, opened if needed, held open until the lease is disposed.
    /// </summary>
    /// <exception cref="Exception">Whatever the reader threw when opening it, now or at an earlier try.</exception>
    public Lease Acquire(string path)
    {
        lock (_lock)
        {
            if (_failed.TryGetValue(path, out var failure))
            {
                throw failure;
            }
            if (!_byPath.TryGetValue(path, out var node))
            {
                // Opened under the lock: the burst of tile requests for a slide just chosen opens it once, not once each.
                ISlide slide;
                try
                {
                    slide = open(path);
                }
                catch (Exception error)
                {
                    _failed[path] = error;
                    throw;
                }
                node = new LinkedListNode<Handle>(new Handle(path, slide));
                _byPath[path] = node;
                Evict(Capacity - 1);
            }
            else
            {
                _recency.Remove(node);
            }
            _recency.AddFirst(node);
            node.Value.Users++;
            return new Lease(this, node.Value);
        }
    }

    /// <summary>Slides open now.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _recency.Count;
            }
        }
    }

    private void Evict(int keep)
    {
        while (_recency.Count > keep && _recency.Last is { } oldest)
        {
            _recency.RemoveLast();
            _byPath.Remove(oldest.Value.Path);
            oldest.Value.Evicted = true;
            if (oldest.Value.Users == 0)
            {
                oldest.Value.Slide.Dispose();
            }
        }
    }

    private void Release(Handle handle)
    {
        lock (_lock)
        {
            if (--handle.Users == 0 && handle.Evicted)
            {
                handle.Slide.Dispose();
            }
        }
    }

    /// <summary>Closes every slide; leases still out keep theirs until disposed.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            Evict(0);
        }
    }

    internal sealed class Handle(string path, ISlide slide)
    {
        public string Path { get; } = path;

        public ISlide Slide { get; } = slide;

        public int Users { get; set; }

        public bool Evicted { get; set; }
    }

    /// <summary>Use of an open slide; disposing it lets the slide be closed.</summary>
    public readonly struct Lease : IDisposable
    {
        private readonly OpenSlides _owner;
        private readonly Handle _handle;

        internal Lease(OpenSlides owner, Handle handle) => (_owner, _handle) = (owner, handle);

        /// <summary>The open slide.</summary>
        public ISlide Slide => _handle.Slide;

        /// <inheritdoc />
        public void Dispose() => _owner.Release(_handle);
    }
}
