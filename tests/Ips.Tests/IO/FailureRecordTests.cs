using Ips.IO;
using Ips.Tests.Data;

namespace Ips.Tests.IO;

public sealed class FailureRecordTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void A_failure_is_recorded_as_one_line_with_the_host_and_read_back_until_it_is_cleared()
    {
        FailureRecord.Write(_dir.Path, "slide_1", "slide_1.tif: truncated\nat tile 7");

        var failure = FailureRecord.Read(_dir.Path, "slide_1");
        Assert.NotNull(failure);
        Assert.Equal("slide_1.tif: truncated at tile 7", failure.Message);
        Assert.Equal(Environment.MachineName, failure.Host);
        Assert.InRange(failure.Recorded, DateTime.UtcNow.AddMinutes(-1), DateTime.UtcNow.AddSeconds(1));
        Assert.Equal(["slide_1.failed"], Directory.GetFiles(_dir.Path).Select(Path.GetFileName));

        FailureRecord.Clear(_dir.Path, "slide_1");
        Assert.Null(FailureRecord.Read(_dir.Path, "slide_1"));
        Assert.Empty(Directory.GetFiles(_dir.Path));
    }

    [Fact]
    public void A_run_retries_failures_of_earlier_runs_unless_told_to_skip_them_and_never_those_recorded_since_it_started()
    {
        var started = DateTime.UtcNow;
        var earlier = new RecordedFailure("bad.tif: not a TIFF", "node07", started.AddHours(-1));
        var since = earlier with { Recorded = started.AddSeconds(5) };

        Assert.Null(new FailureRetry(Retry: true, started).WhyNotRetried(earlier));
        Assert.Equal("failed in an earlier run (" + earlier.Recorded.ToString("yyyy-MM-dd HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture)
            + " UTC on node07), not retried with --skip-failed: bad.tif: not a TIFF", new FailureRetry(Retry: false, started).WhyNotRetried(earlier));
        Assert.Equal("failed in another process of this run (on node07): bad.tif: not a TIFF", new FailureRetry(Retry: true, started).WhyNotRetried(since));
    }
}
