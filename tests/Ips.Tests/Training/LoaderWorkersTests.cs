using Ips.Training;

namespace Ips.Tests.Training;

public sealed class LoaderWorkersTests
{
    [Theory]
    // 2 cores, libtorch on both: the official config's 8 workers would take turns with compute; one loader thread.
    [InlineData(8, 2, 2, false, 1)]
    // 16 cores, 8 compute threads: 8 free cores fit the config's 8.
    [InlineData(8, 16, 8, false, 8)]
    // 16 cores, 12 compute threads: 4 free.
    [InlineData(8, 16, 12, false, 4)]
    // GPU compute needs one driver thread: 8 cores leave 7.
    [InlineData(32, 8, 8, true, 7)]
    [InlineData(4, 8, 8, true, 4)]
    // n_worker 0 (load on the pipeline's own thread) is kept as one thread.
    [InlineData(0, 2, 2, false, 1)]
    // More compute threads than cores still leaves one loader thread.
    [InlineData(2, 2, 4, false, 1)]
    public void Workers_fit_the_cores_compute_leaves(int configured, int cores, int computeThreads, bool onGpu, int expected)
    {
        var choice = LoaderWorkers.Choose(configured, cores, computeThreads, onGpu);

        Assert.Equal(expected, choice.Chosen);
        Assert.Equal(configured, choice.Configured);
    }

    [Fact]
    public void Reducing_says_why_and_keeping_says_nothing()
    {
        var reduced = LoaderWorkers.Choose(8, 2, 2, computeOnGpu: false);
        var kept = LoaderWorkers.Choose(8, 16, 8, computeOnGpu: false);

        Assert.Equal(
            "n_worker 8: loading on 1 background thread instead, because libtorch's 2 compute threads use the rest of this machine's 2 cores",
            reduced.Note);
        Assert.Null(kept.Note);
    }
}
