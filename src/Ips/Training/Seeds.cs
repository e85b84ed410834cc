namespace Ips.Training;

/// <summary>
/// Derives independent seeds from a run's seed and counters (SplitMix64). Unlike <see cref="HashCode"/>, which is
/// randomised per process, the result is the same in every process, which exact resume and reproducibility need.
/// </summary>
internal static class Seeds
{
    /// <summary>A 63-bit seed mixed from <paramref name="parts"/>.</summary>
    public static long Mix(params long[] parts)
    {
        ulong state = 0x9E3779B97F4A7C15;
        foreach (var part in parts)
        {
            state = SplitMix(state ^ (ulong)part);
        }
        return (long)(state >> 1);
    }

    /// <summary>
    /// The order in which epoch <paramref name="epoch"/> of a run seeded with <paramref name="seed"/> visits
    /// <paramref name="count"/> examples: a seeded shuffle, the same in every process, so a resumed epoch continues
    /// the order it started with. Training and BYOL pre-training share it.
    /// </summary>
    public static int[] ShuffledOrder(long seed, int epoch, int count)
    {
        var order = Enumerable.Range(0, count).ToArray();
        new Random((int)(Mix(seed, epoch, 0x5EED) & int.MaxValue)).Shuffle(order);
        return order;
    }

    private static ulong SplitMix(ulong x)
    {
        x += 0x9E3779B97F4A7C15;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EB;
        return x ^ (x >> 31);
    }
}
