using static TorchSharp.torch;

namespace Ips.Slides.TileSets;

/// <summary>Several tile sets read as one, in the order given.</summary>
public sealed class ConcatenatedTiles : ITileSet
{
    private readonly ITileSet[] _sets;
    private readonly int[] _starts;

    /// <summary>Joins <paramref name="sets"/>.</summary>
    public ConcatenatedTiles(IEnumerable<ITileSet> sets)
    {
        ArgumentNullException.ThrowIfNull(sets);
        _sets = [.. sets];
        _starts = new int[_sets.Length + 1];
        for (var i = 0; i < _sets.Length; i++)
        {
            _starts[i + 1] = checked(_starts[i] + _sets[i].Count);
        }
    }

    /// <inheritdoc />
    public int Count => _starts[^1];

    /// <inheritdoc />
    public Tensor Load(int index) => Locate(index, (set, local) => set.Load(local));

    /// <inheritdoc />
    public string Describe(int index) => Locate(index, (set, local) => set.Describe(local));

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var set in _sets)
        {
            set.Dispose();
        }
    }

    private T Locate<T>(int index, Func<ITileSet, int, T> read)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        var set = Array.BinarySearch(_starts, index);
        // An exact hit may land on an empty set's start; the tile belongs to the last set starting there.
        set = set >= 0 ? Array.LastIndexOf(_starts, _starts[set], _sets.Length - 1) : ~set - 1;
        return read(_sets[set], index - _starts[set]);
    }
}
