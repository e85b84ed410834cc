using System.Runtime.Versioning;

namespace Ips.Tests.Examples;

/// <summary>
/// One <see cref="SingleNodeSlurm"/> for all the tests of <see cref="SlurmExampleTests"/>, so that the suite starts
/// the daemons once. It starts on first use: a machine without root or the packages fails each test with the reason
/// (the failure is kept, not retried), instead of failing the fixture.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class SlurmCluster : IDisposable
{
    private readonly TempFiles _files = new();
    private readonly Lazy<SingleNodeSlurm> _slurm;

    /// <summary>A cluster that starts when a test first asks for it.</summary>
    public SlurmCluster() => _slurm = new Lazy<SingleNodeSlurm>(() => new SingleNodeSlurm(_files.File("slurm")));

    /// <summary>The running cluster, started now if no test has asked before.</summary>
    internal SingleNodeSlurm Slurm => _slurm.Value;

    /// <summary>Stops the daemons, if they were started, and removes their folder.</summary>
    public void Dispose()
    {
        if (_slurm.IsValueCreated)
        {
            _slurm.Value.Dispose();
        }
        _files.Dispose();
    }
}
