using Ips.Native;

namespace Ips.Tests.Native;

public sealed class OpenMpWaitPolicyTests
{
    [Fact]
    public void Configure_sets_the_passive_policy_where_libgomp_reads_it_and_gives_children_the_same()
    {
        var state = OpenMpWaitPolicy.Configure();

        // Idempotent: a second call reports the same state and changes nothing.
        Assert.Equal(state, OpenMpWaitPolicy.Configure());
        Assert.Equal(state, OpenMpWaitPolicy.State);
        if (state.SetBy == "ips")
        {
            // In the C library's environment, not only .NET's copy of it: libgomp reads getenv when it is loaded.
            Assert.Equal("PASSIVE", OpenMpWaitPolicy.NativeVariable("OMP_WAIT_POLICY"));
            Assert.Equal("PASSIVE", state.Policy);
            Assert.Equal(new Dictionary<string, string> { ["OMP_WAIT_POLICY"] = "PASSIVE" }, OpenMpWaitPolicy.EquivalentEnvironment());
            Assert.Equal("PASSIVE (OMP_WAIT_POLICY=PASSIVE; set by ips)", state.ToString());
        }
        else
        {
            // The user's own OMP_WAIT_POLICY or GOMP_SPINCOUNT is left alone and nothing is handed on.
            Assert.Equal("environment", state.SetBy);
            Assert.Contains("=", state.Detail, StringComparison.Ordinal);
            Assert.Empty(OpenMpWaitPolicy.EquivalentEnvironment());
        }
    }
}
