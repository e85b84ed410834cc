namespace Ips.Training;

/// <summary>Progress of one pass: <paramref name="Done"/> of <paramref name="Total"/> data-loader iterations.</summary>
/// <param name="Phase"><c>train</c> or <c>test</c>.</param>
/// <param name="Epoch">0-based epoch.</param>
/// <param name="Done">Iterations finished.</param>
/// <param name="Total">Iterations in the pass.</param>
/// <param name="Loss">Mean loss of the last optimiser step or evaluation batch.</param>
public sealed record PassProgress(string Phase, int Epoch, int Done, int Total, double Loss);
