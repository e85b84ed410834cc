using Ips.Native;

namespace Ips.Tests.Native;

public sealed class OpenMpWaitPolicyTests
{
    [Fact]
    public void Configure_chooses_once_and_sets_sleeping_where_libgomp_reads_it_and_hands_it_to_children()
    {
        var state = OpenMpWaitPolicy.Configure();

        // Idempotent: a second call reports the same state and changes nothing.
        Assert.Equal(state, OpenMpWaitPolicy.Configure());
        Assert.Equal(state, OpenMpWaitPolicy.State);
        if (state is { SetBy: "ips", Policy: "PASSIVE" })
        {
            // In the C library's environment, not only .NET's copy of it: libgomp reads getenv when it is loaded.
            Assert.Equal("PASSIVE", OpenMpWaitPolicy.NativeVariable("OMP_WAIT_POLICY"));
            Assert.Equal(new Dictionary<string, string> { ["OMP_WAIT_POLICY"] = "PASSIVE" }, OpenMpWaitPolicy.EquivalentEnvironment());
            Assert.Matches(@"^PASSIVE \(load average \d+\.\d\d on \d+ cores(, other processes busy on \d+\.\d cores now)?: OMP_WAIT_POLICY=PASSIVE; set by ips\)$", state.ToString());
        }
        else if (state.SetBy == "ips")
        {
            // Free cores: libgomp's own spinning, nothing set and nothing handed on.
            Assert.Null(OpenMpWaitPolicy.NativeVariable("OMP_WAIT_POLICY"));
            Assert.Empty(OpenMpWaitPolicy.EquivalentEnvironment());
            Assert.Matches(@"^spin, then sleep \(load average \d+\.\d\d on \d+ cores(, other processes busy on \d+\.\d cores now)?: libgomp's default; set by ips\)$", state.ToString());
        }
        else
        {
            // The user's own OMP_WAIT_POLICY or GOMP_SPINCOUNT is left alone and nothing is handed on.
            Assert.Equal("environment", state.SetBy);
            Assert.Contains("=", state.Detail, StringComparison.Ordinal);
            Assert.Empty(OpenMpWaitPolicy.EquivalentEnvironment());
        }
    }

    [Theory]
    [InlineData(0.3, 2, false)]
    [InlineData(1.49, 2, false)]
    [InlineData(4.0, 2, true)]
    [InlineData(17.5, 2, true)]
    [InlineData(7.0, 16, false)]
    public void Clear_loads_decide_without_measuring(double load, int cores, bool sleep)
    {
        var (chosen, why) = OpenMpWaitPolicy.ShouldSleep(load, cores, () => throw new InvalidOperationException("measured"));
        Assert.Equal(sleep, chosen);
        Assert.Equal(FormattableString.Invariant($"load average {load:F2} on {cores} cores"), why);
    }

    [Theory]
    [InlineData(1.6, 0.1, false)]
    [InlineData(2.0, 0.4, false)]
    [InlineData(2.0, 0.5, true)]
    [InlineData(3.9, 1.7, true)]
    public void A_load_near_the_core_count_is_decided_by_what_others_use_now(double load, double others, bool sleep)
    {
        var (chosen, why) = OpenMpWaitPolicy.ShouldSleep(load, 2, () => others);
        Assert.Equal(sleep, chosen);
        Assert.EndsWith(FormattableString.Invariant($"other processes busy on {others:F1} cores now"), why);
    }

    [Fact]
    public void An_unknown_load_or_measurement_sleeps()
    {
        Assert.True(OpenMpWaitPolicy.ShouldSleep(null, 2, () => 0).Sleep);
        Assert.True(OpenMpWaitPolicy.ShouldSleep(2.0, 2, () => null).Sleep);
    }

    [Fact]
    public void Other_processes_use_is_read_from_proc_as_a_share_of_the_cores()
    {
        // Linux's /proc layout (the test machines'): a number, from 0 up to every core busy.
        var others = OpenMpWaitPolicy.OthersBusyCores(TimeSpan.FromMilliseconds(200));

        Assert.NotNull(others);
        Assert.InRange(others!.Value, 0, Environment.ProcessorCount + 0.5);
    }
}
