using Ips.Slides;

namespace Ips.Tests.Slides;

public sealed class TileCacheTests
{
    [Fact]
    public void Keeps_the_most_recently_used_tiles_within_its_byte_budget()
    {
        var cache = new TileCache(capacityBytes: 350);
        for (int tile = 0; tile < 3; tile++)
        {
            cache.Add(0, tile, new byte[100]);
        }
        Assert.NotNull(cache.Get(0, 0)); // tile 0 becomes the most recent; tile 1 is now the oldest
        cache.Add(0, 3, new byte[100]);
        Assert.Null(cache.Get(0, 1));
        Assert.NotNull(cache.Get(0, 0));
        Assert.NotNull(cache.Get(0, 2));
        Assert.NotNull(cache.Get(0, 3));
        Assert.Equal(300, cache.SizeBytes);

        cache.Add(1, 0, new byte[400]); // larger than the whole budget: not kept, nothing evicted
        Assert.Null(cache.Get(1, 0));
        Assert.Equal(300, cache.SizeBytes);
    }
}
