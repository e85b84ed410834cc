using Ips.Training;

namespace Ips.Tests.Training;

public sealed class CheckpointIntervalTests
{
    [Theory]
    [InlineData("10m", 600.0, null, "10m")]
    [InlineData("90s", 90.0, null, "90s")]
    [InlineData("1.5h", 5400.0, null, "90m")]
    [InlineData("2h", 7200.0, null, "2h")]
    [InlineData("500steps", null, 500L, "500steps")]
    [InlineData("1 step", null, 1L, "1steps")]
    [InlineData(" OFF ", null, null, "off")]
    public void Times_steps_and_off_are_read(string text, double? seconds, long? steps, string shown)
    {
        var interval = CheckpointInterval.Parse(text);
        Assert.Equal(seconds, interval.Time?.TotalSeconds);
        Assert.Equal(steps, interval.Steps);
        Assert.Equal(shown, interval.ToString());
    }

    [Theory]
    [InlineData("10")]
    [InlineData("0m")]
    [InlineData("-5m")]
    [InlineData("1.5steps")]
    [InlineData("10 minutes")]
    [InlineData("")]
    public void Anything_else_is_refused_with_the_accepted_forms(string text)
    {
        var error = Assert.Throws<ArgumentException>(() => CheckpointInterval.Parse(text));
        Assert.Contains($"'{text}'", error.Message, StringComparison.Ordinal);
        Assert.Contains("500steps", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Due_after_the_time_or_the_steps_and_never_when_off()
    {
        Assert.False(CheckpointInterval.Default.IsDue(TimeSpan.FromMinutes(9.9), 1_000_000));
        Assert.True(CheckpointInterval.Default.IsDue(TimeSpan.FromMinutes(10), 0));
        Assert.False(CheckpointInterval.EverySteps(3).IsDue(TimeSpan.FromDays(1), 2));
        Assert.True(CheckpointInterval.EverySteps(3).IsDue(TimeSpan.Zero, 3));
        Assert.False(CheckpointInterval.Off.IsDue(TimeSpan.FromDays(1), long.MaxValue));
    }
}
