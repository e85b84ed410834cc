using Ips.Slides;

namespace Ips.Tests.Slides;

public sealed class TileCacheTests
{
    private static bool Holds(TileCache cache, int level, int tile) => cache.TryUse(level, tile, _ => { });

    [Fact]
    public void Keeps_the_most_recently_used_tiles_within_its_byte_budget()
    {
        var cache = new TileCache(capacityBytes: 350);
        for (int tile = 0; tile < 3; tile++)
        {
            cache.Add(0, tile, new byte[100]);
        }
        Assert.True(Holds(cache, 0, 0)); // tile 0 becomes the most recent; tile 1 is now the oldest
        cache.Add(0, 3, new byte[100]);
        Assert.False(Holds(cache, 0, 1));
        Assert.True(Holds(cache, 0, 0));
        Assert.True(Holds(cache, 0, 2));
        Assert.True(Holds(cache, 0, 3));
        Assert.Equal(300, cache.SizeBytes);

        cache.Add(1, 0, new byte[400]); // larger than the whole budget: not kept, nothing evicted
        Assert.False(Holds(cache, 1, 0));
        Assert.Equal(300, cache.SizeBytes);
    }

    [Fact]
    public void A_dropped_tile_buffer_is_rented_for_the_next_decode_and_a_stored_one_never_is()
    {
        var cache = new TileCache(capacityBytes: 200);
        var first = new byte[100];
        var second = new byte[100];
        cache.Add(0, 0, first);
        cache.Add(0, 1, second);
        Assert.NotSame(first, cache.Rent(100)); // both stored: nothing to recycle

        var third = cache.Rent(100);
        third[0] = 7;
        cache.Add(0, 2, third); // drops tile 0
        Assert.Same(first, cache.Rent(100));
        Assert.NotSame(first, cache.Rent(100));
        byte seen = 0;
        Assert.True(cache.TryUse(0, 2, pixels => seen = pixels[0]));
        Assert.Equal(7, seen);

        // A tile decoded twice at once is stored once; the second copy is recycled, not kept.
        var duplicate = new byte[100];
        cache.Add(0, 2, duplicate);
        Assert.Same(duplicate, cache.Rent(100));
        Assert.Equal(200, cache.SizeBytes);
    }
}
