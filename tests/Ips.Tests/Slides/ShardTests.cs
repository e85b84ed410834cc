using Ips.Slides.Tiling;

namespace Ips.Tests.Slides;

public sealed class ShardTests
{
    [Fact]
    public void Shards_are_disjoint_cover_every_slide_and_depend_only_on_the_file_name()
    {
        var slides = Enumerable.Range(0, 400).Select(i => $"/data/camelyon16/{(i % 2 == 0 ? "normal" : "tumor")}_{i:000}.tif").ToList();
        const int n = 7;
        var shards = Enumerable.Range(0, n).Select(k => slides.Where(new SlideShard(k, n).Contains).ToList()).ToList();

        Assert.Equal(slides.Count, shards.Sum(s => s.Count));
        Assert.Equal(slides.Order(), shards.SelectMany(s => s).Order());
        // Every shard gets a share (400 / 7 is about 57).
        Assert.All(shards, s => Assert.InRange(s.Count, 30, 90));
        // The same file elsewhere, or listed in another order, falls in the same shard.
        Assert.All(slides, s => Assert.Equal(
            new SlideShard(3, n).Contains(s), new SlideShard(3, n).Contains(Path.Combine("/elsewhere", Path.GetFileName(s)))));
        Assert.True(new SlideShard(0, 1).Contains("anything.svs"));
    }

    [Theory]
    [InlineData("2/4", 2, 4)]
    [InlineData("0/1", 0, 1)]
    public void Parses_k_of_n(string text, int k, int n) => Assert.Equal(new SlideShard(k, n), SlideShard.Parse(text));

    [Theory]
    [InlineData("4/4")]
    [InlineData("1/0")]
    [InlineData("-1/3")]
    [InlineData("1")]
    [InlineData("a/b")]
    public void Refuses_malformed_shards(string text) =>
        Assert.Contains($"--shard '{text}'", Assert.Throws<ArgumentException>(() => SlideShard.Parse(text)).Message);
}
