using System.Globalization;

namespace Ips.Training;

/// <summary>
/// Efficiency figures of one tracked epoch (<c>track_efficiency</c>, <c>track_epoch</c>): mean time per training
/// iteration from the start of assembling a batch to the end of the optimiser step (first and last batch excluded,
/// as in the official code), its split, peak memory and throughput.
/// </summary>
/// <param name="Iterations">Iterations averaged.</param>
/// <param name="MeanIterationMs">Mean time per iteration.</param>
/// <param name="MeanDataWaitMs">Part of it spent waiting for the background loader.</param>
/// <param name="MeanSelectionMs">Part of it spent in IPS (no-gradient selection).</param>
/// <param name="MeanForwardBackwardMs">Part of it spent in the forward and backward pass.</param>
/// <param name="MeanOptimizerMs">Part of it spent in the optimiser step.</param>
/// <param name="PeakMemoryBytes">Peak resident memory of the process (CPU), or device memory in use (GPU, via NVML).</param>
/// <param name="PeakMemoryKind">What <paramref name="PeakMemoryBytes"/> measures.</param>
/// <param name="ImagesPerSecond">Images per second over the averaged iterations.</param>
public sealed record EfficiencyReport(
    int Iterations,
    double MeanIterationMs,
    double MeanDataWaitMs,
    double MeanSelectionMs,
    double MeanForwardBackwardMs,
    double MeanOptimizerMs,
    long PeakMemoryBytes,
    string PeakMemoryKind,
    double ImagesPerSecond)
{
    /// <summary>One line for the console.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"time/iteration {MeanIterationMs:F1} ms (data {MeanDataWaitMs:F1}, selection {MeanSelectionMs:F1}, forward+backward {MeanForwardBackwardMs:F1}, optimiser {MeanOptimizerMs:F1}) over {Iterations} iterations; {ImagesPerSecond:F1} images/s; peak memory {PeakMemoryBytes / (1024.0 * 1024.0):F0} MiB ({PeakMemoryKind})");
}
