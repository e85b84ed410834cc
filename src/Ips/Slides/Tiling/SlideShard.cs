using System.Globalization;
using System.Text;

namespace Ips.Slides.Tiling;

/// <summary>
/// One of <see cref="Count"/> disjoint subsets of a cohort of slides (<c>--shard k/n</c>, <c>k</c> counted from 0):
/// a slide belongs to shard <c>hash(file name) mod n</c>, with a fixed hash (64-bit FNV-1a of the UTF-8 file name),
/// so every task of an array job computes the same split on its own, whatever order or machine it lists the files
/// in, and adding slides to the cohort moves no other slide to another shard.
/// </summary>
/// <param name="Index">The shard, 0 .. <paramref name="Count"/> - 1.</param>
/// <param name="Count">Number of shards.</param>
public sealed record SlideShard(int Index, int Count)
{
    /// <summary>The single shard holding every slide.</summary>
    public static SlideShard All { get; } = new(0, 1);

    /// <summary>Parses <c>k/n</c> with <c>0 &lt;= k &lt; n</c>; throws <see cref="ArgumentException"/> naming the text otherwise.</summary>
    public static SlideShard Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parts = text.Split('/');
        if (parts.Length == 2
            && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int k)
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int n)
            && n > 0 && k < n)
        {
            return new SlideShard(k, n);
        }
        throw new ArgumentException($"--shard '{text}': expected k/n with 0 <= k < n, e.g. 0/4 for the first of four shards");
    }

    /// <summary>Whether the slide at <paramref name="path"/> belongs to this shard (only its file name counts).</summary>
    public bool Contains(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        ulong hash = 14695981039346656037UL;
        foreach (byte b in Encoding.UTF8.GetBytes(Path.GetFileName(path)))
        {
            hash = (hash ^ b) * 1099511628211UL;
        }
        return (int)(hash % (ulong)Count) == Index;
    }

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Index}/{Count}");
}
