using Ips.Data;
using Ips.Modeling;
using Ips.Selection;
using static TorchSharp.torch;

namespace Ips.Training;

/// <summary>
/// The evaluation pass of docs/design.md section 4: IPS and the forward pass without gradients over a data set in order,
/// batched as in training, with each task's loss and metric. It needs the network and a device, nothing of
/// training (no optimiser, no schedule, no counters), so <c>ips evaluate</c> runs it on loaded weights alone and
/// the trainer runs the same pass after every epoch.
/// </summary>
public sealed class Evaluator
{
    private readonly IpsNet _net;
    private readonly Device _device;
    private readonly GroupSelector _groups;
    private readonly int _workers;

    /// <summary>Evaluates <paramref name="net"/> (already on <paramref name="device"/>) with the loader threads its config's <c>n_worker</c> gets here.</summary>
    public Evaluator(IpsNet net, Device device)
        : this(net, new IterativePatchSelector(net), device, LoaderWorkers.Choose(net.Config.NWorker, device).Chosen)
    {
    }

    /// <summary>Evaluates with a selector and loader threads shared with training.</summary>
    internal Evaluator(IpsNet net, IterativePatchSelector selector, Device device, int workers)
    {
        _net = net;
        _device = device;
        _groups = new GroupSelector(selector, net.Config, device);
        _workers = workers;
    }

    /// <summary>
    /// Per task, the mean loss and the metric on <paramref name="data"/>, in evaluation mode with IPS as in training.
    /// <paramref name="progress"/> hears of every batch, labelled with <paramref name="epoch"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The data set is empty.</exception>
    public Dictionary<string, TaskScores> Evaluate(IIpsDataset data, IProgress<PassProgress>? progress = null, int epoch = 0) =>
        Pass(data, progress, epoch).Compute();

    /// <summary>
    /// The same pass as <see cref="Evaluate"/>, returning every prediction and target (in the accumulators) as well as
    /// the scores, for results per class.
    /// </summary>
    /// <exception cref="ArgumentException">The data set is empty.</exception>
    public EpochMetrics Pass(IIpsDataset data, IProgress<PassProgress>? progress = null, int epoch = 0)
    {
        ArgumentNullException.ThrowIfNull(data);
        var config = _net.Config;
        if (data.Count == 0)
        {
            throw new ArgumentException($"config {Path.GetFileName(config.Source)}: the test set is empty.");
        }
        var meter = new EpochMetrics(config.Tasks);
        _net.eval();
        using var pipeline = SampleGroups.Load(data, Enumerable.Range(0, data.Count).ToArray(), config.BSeq, train: false, _workers);
        var iterations = pipeline.BatchCount;
        var pending = new PendingBatch(config.M);
        var iteration = 0;
        foreach (var group in pipeline.Batches())
        {
            _groups.SelectInto(pending, group, GroupSelector.EvaluationEpoch, iteration);
            iteration++;
            if (pending.Count < config.B && iteration != iterations)
            {
                continue;
            }
            using (var scope = NewDisposeScope())
            using (no_grad())
            {
                var (patches, positions, labels) = pending.Assemble(_device);
                var predictions = _net.call(patches, positions);
                var (total, perTask) = Losses.Compute(predictions, labels, config.Tasks, config.Eps);
                meter.Add(predictions, labels, perTask);
                progress?.Report(new PassProgress("test", epoch, iteration, iterations, total.item<float>()));
            }
            pending.Clear();
        }
        return meter;
    }
}
