using Ips.Data;
using Ips.Selection;
using static TorchSharp.torch;

namespace Ips.Training;

/// <summary>
/// The batch being assembled from per-image selections (official <c>init_batch</c>/<c>fill_batch</c>): in eager
/// and lazy mode one group of B images fills it at once; in eager-sequential mode B groups of one image do.
/// A short last batch is trained on as it is. An image with fewer than M patches (a small slide) keeps all of them,
/// zero-padded to M as the official buffer of B x M zeros is, so images of any N share one batch.
/// </summary>
/// <param name="memorySize">M, the patches per image of the batch.</param>
internal sealed class PendingBatch(int memorySize)
{
    private readonly List<Tensor> _patches = new();
    private readonly List<Tensor> _positions = new();
    private readonly List<Tensor> _indices = new();
    private readonly Dictionary<string, List<Tensor>> _labels = new();

    /// <summary>Images collected so far.</summary>
    public int Count { get; private set; }

    /// <summary>Takes over the selection's tensors and copies the group's labels.</summary>
    public void Add(SelectionResult selection, IReadOnlyList<IpsSample> group)
    {
        _patches.Add(PadToMemory(selection.Patches.detach(), 0));
        if (selection.PositionalEncoding is { } positions)
        {
            _positions.Add(PadToMemory(positions.detach(), 0));
        }
        _indices.Add(PadToMemory(selection.Indices.alias(), -1));
        selection.Dispose();
        foreach (var sample in group)
        {
            foreach (var (task, label) in sample.Labels)
            {
                if (!_labels.TryGetValue(task, out var list))
                {
                    _labels[task] = list = new List<Tensor>();
                }
                list.Add(label.clone());
            }
        }
        Count += group.Count;
    }

    /// <summary>Pads dimension 1 (the M selected patches, <c>[B, k, ...]</c>) with <paramref name="value"/> up to M.</summary>
    private Tensor PadToMemory(Tensor selected, double value)
    {
        var missing = memorySize - selected.shape[1];
        if (missing <= 0)
        {
            return selected;
        }
        var shape = selected.shape.ToArray();
        shape[1] = missing;
        using (selected)
        {
            return cat([selected, full(shape, value, selected.dtype, selected.device)], 1); // [B, M, ...]
        }
    }

    /// <summary>
    /// The batch on <paramref name="device"/>: patches <c>[B, M, *patch]</c>, positional encodings <c>[B, M, D]</c> or null,
    /// and labels per task (<c>[B]</c> int64 or <c>[B, n_class]</c> float32). Created in the caller's dispose scope.
    /// </summary>
    public (Tensor Patches, Tensor? Positions, Dictionary<string, Tensor> Labels) Assemble(Device device)
    {
        var patches = _patches.Count == 1 ? _patches[0].alias() : cat(_patches, 0);
        var positions = _positions.Count == 0 ? null : _positions.Count == 1 ? _positions[0].alias() : cat(_positions, 0);
        var labels = _labels.ToDictionary(kv => kv.Key, kv => stack(kv.Value).to(device));
        return (patches.to(device), positions?.to(device), labels);
    }

    /// <summary>Original indices of the selected patches, <c>[B, M]</c> on the CPU, in batch order (copied on request only).</summary>
    public Tensor SelectedIndices() => cat(_indices, 0).cpu();

    /// <summary>Disposes what was collected and starts over.</summary>
    public void Clear()
    {
        foreach (var tensor in _patches.Concat(_positions).Concat(_indices).Concat(_labels.Values.SelectMany(l => l)))
        {
            tensor.Dispose();
        }
        _patches.Clear();
        _positions.Clear();
        _indices.Clear();
        _labels.Clear();
        Count = 0;
    }
}
