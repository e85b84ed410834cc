namespace Ips.Bench;

/// <summary>Marker for the benchmark harness assembly; the harness itself arrives with the benchmarks issue.</summary>
internal static class BenchInfo
{
}
