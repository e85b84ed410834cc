using Ips.Configuration;
using Ips.Data;
using Ips.Patches;
using Ips.Selection;
using static TorchSharp.torch;

namespace Ips.Training;

/// <summary>
/// IPS on one data-loader group, as training and evaluation both run it: each image on the device as the loading
/// mode asks, the shuffle driven by a generator seeded from (seed, epoch, iteration), the selections appended to
/// the batch being assembled. One class for both passes, so that evaluation selects exactly as training does.
/// </summary>
internal sealed class GroupSelector(IterativePatchSelector selector, IpsConfig config, Device device)
{
    /// <summary>The epoch number evaluation passes use in the seed, apart from every training epoch.</summary>
    public const int EvaluationEpoch = -1;

    private readonly LoadingMode _mode = LoadingModes.Of(config);

    /// <summary>
    /// Runs IPS on <paramref name="group"/> (iteration <paramref name="iteration"/> of <paramref name="epoch"/>) and
    /// appends the selections to <paramref name="pending"/>. The samples are disposed here: after selection only
    /// their M selected patches are needed.
    /// </summary>
    public void SelectInto(PendingBatch pending, IReadOnlyList<IpsSample> group, int epoch, int iteration)
    {
        var sources = new List<IPatchSource>(group.Count);
        var copies = new List<IPatchSource>();
        try
        {
            foreach (var sample in group)
            {
                // Eager modes put the whole image on the device first, unless it already lives there (a CPU run);
                // lazy mode leaves it in host memory and only chunks move.
                if (_mode == LoadingMode.Lazy || (sample.Patches.Device.type == device.type && sample.Patches.Device.index == device.index))
                {
                    sources.Add(sample.Patches);
                }
                else
                {
                    var copy = OnDevice(sample.Patches);
                    copies.Add(copy);
                    sources.Add(copy);
                }
            }
            using var generator = new Generator((ulong)Seeds.Mix(config.Seed, epoch, iteration, 0x1D5));
            var selection = selector.Select(sources, device, generator);
            pending.Add(selection, group);
        }
        finally
        {
            foreach (var copy in copies)
            {
                copy.Dispose();
            }
            foreach (var sample in group)
            {
                sample.Dispose();
            }
        }
    }

    private IPatchSource OnDevice(IPatchSource source)
    {
        using var scope = NewDisposeScope();
        var all = source.Read(0, source.Count).to(device).MoveToOuterDisposeScope();
        return TensorPatchSource.FromPatches(all);
    }
}
