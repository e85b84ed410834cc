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
            Assert.Matches(@"^PASSIVE \(load average \d+\.\d\d on \d+ cores: OMP_WAIT_POLICY=PASSIVE; set by ips\)$", state.ToString());
        }
        else if (state.SetBy == "ips")
        {
            // Free cores: libgomp's own spinning, nothing set and nothing handed on.
            Assert.Null(OpenMpWaitPolicy.NativeVariable("OMP_WAIT_POLICY"));
            Assert.Empty(OpenMpWaitPolicy.EquivalentEnvironment());
            Assert.Matches(@"^spin, then sleep \(load average \d+\.\d\d on \d+ cores: libgomp's default; set by ips\)$", state.ToString());
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
    [InlineData(1.99, 2, false)]
    [InlineData(2.0, 2, true)]
    [InlineData(17.5, 2, true)]
    [InlineData(7.0, 16, false)]
    [InlineData(null, 16, true)]
    public void Threads_spin_only_while_the_load_leaves_cores_free(double? load, int cores, bool sleep) =>
        Assert.Equal(sleep, OpenMpWaitPolicy.ShouldSleep(load, cores));
}
