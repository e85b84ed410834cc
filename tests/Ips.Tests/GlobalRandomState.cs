namespace Ips.Tests;

/// <summary>
/// Tests that compare runs started from <c>torch.manual_seed</c>: libtorch's default generator is one per process,
/// so a test class running in parallel could draw from it between a seed and a model's initialisation. xunit runs
/// this collection on its own, after the parallel ones.
/// </summary>
[CollectionDefinition(nameof(GlobalRandomState), DisableParallelization = true)]
public sealed class GlobalRandomState;
