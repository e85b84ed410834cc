using Ips.Data.Camelyon16;

namespace Ips.Tests.Data.Camelyon16;

public sealed class PyramidalTiffWriterTests
{
    [Fact]
    public void Levels_halve_until_the_longer_side_is_small_enough()
    {
        var levels = PyramidalTiffWriter.LevelSizes(5000, 300, new SlideWriteOptions { SmallestLevelSize = 1024 });

        Assert.Equal([(5000L, 300L, 1L), (2500L, 150L, 2L), (1250L, 75L, 4L), (625L, 38L, 8L)], levels);
    }

    [Fact]
    public void No_level_is_added_with_a_side_shorter_than_the_smallest_level_side()
    {
        // 75 / 2 rounds up to 38, 38 / 2 to 19, 19 / 2 to 10: the 10-pixel level is left out.
        var levels = PyramidalTiffWriter.LevelSizes(5000, 75, new SlideWriteOptions { SmallestLevelSize = 16, SmallestLevelSide = 16 });

        Assert.Equal([(5000L, 75L, 1L), (2500L, 38L, 2L), (1250L, 19L, 4L)], levels);
    }

    [Fact]
    public void A_smallest_level_side_below_one_is_refused_naming_the_value()
    {
        var error = Assert.Throws<ArgumentException>(() =>
            PyramidalTiffWriter.Write("unused.tif", new BlankContent(), new SlideWriteOptions { SmallestLevelSide = 0 }));

        Assert.Contains("smallest level side must be positive, got 0", error.Message, StringComparison.Ordinal);
    }

    private sealed class BlankContent : ISlideContent
    {
        public long Width => 64;

        public long Height => 64;

        public (byte R, byte G, byte B) Background => (255, 255, 255);

        public bool IsBackground(double x0, double y0, double width, double height) => true;

        public void Render(double downsample, long levelX, long levelY, int width, int height, Span<byte> rgb) => rgb.Fill(255);
    }
}
