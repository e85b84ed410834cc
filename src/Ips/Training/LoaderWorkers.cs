using System.Globalization;
using TorchSharp;
using static TorchSharp.torch;

namespace Ips.Training;

/// <summary>
/// How many background threads load examples. A config's <c>n_worker</c> is tuned for the machine it was written
/// on (the official Megapixel MNIST config asks for 8, for a GPU server); on a CPU where libtorch's compute threads
/// already take every core, extra loader threads only take turns with the compute. The config's value is kept
/// where the machine has the cores for it.
/// </summary>
/// <param name="Configured">The config's <c>n_worker</c>.</param>
/// <param name="Chosen">The number of loader threads used (at least 1).</param>
/// <param name="Note">One line saying why <paramref name="Chosen"/> is fewer than asked, or null when the config's value is kept.</param>
public sealed record LoaderWorkers(int Configured, int Chosen, string? Note)
{
    /// <summary>The choice for this machine: its cores, libtorch's intra-op threads, and where <paramref name="device"/> computes.</summary>
    public static LoaderWorkers Choose(int configured, Device device)
    {
        ArgumentNullException.ThrowIfNull(device);
        return Choose(configured, Environment.ProcessorCount, torch.get_num_threads(), device.type == DeviceType.CUDA);
    }

    /// <summary>
    /// Keeps <paramref name="configured"/> when it fits in the cores that compute leaves free (all but libtorch's
    /// threads on a CPU, all but the one driving the GPU on CUDA); otherwise uses those free cores, at least one.
    /// </summary>
    public static LoaderWorkers Choose(int configured, int cores, int computeThreads, bool computeOnGpu)
    {
        var wanted = Math.Max(1, configured);
        var free = Math.Max(1, cores - (computeOnGpu ? 1 : Math.Max(1, computeThreads)));
        if (wanted <= free)
        {
            return new LoaderWorkers(configured, wanted, null);
        }
        var compute = computeOnGpu ? "the GPU's driver thread" : $"libtorch's {computeThreads} compute thread{(computeThreads == 1 ? "" : "s")}";
        var note = string.Create(CultureInfo.InvariantCulture,
            $"n_worker {configured}: loading on {free} background thread{(free == 1 ? "" : "s")} instead, because {compute} use{(computeOnGpu || computeThreads == 1 ? "s" : "")} the rest of this machine's {cores} cores");
        return new LoaderWorkers(configured, free, note);
    }
}
