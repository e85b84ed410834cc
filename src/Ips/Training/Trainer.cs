using System.Diagnostics;
using Ips.Configuration;
using Ips.Data;
using Ips.Modeling;
using Ips.Selection;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Ips.Training;

/// <summary>
/// docs/design.md section 4: trains an <see cref="IpsNet"/> on any <see cref="IIpsDataset"/>. Composes the selector, the
/// network, AdamW with the warm-up/cosine schedule, the per-task losses and metrics, and the loading modes; it
/// knows no data set. Every random choice is derived from (seed, step), so a run is reproducible on a CPU and can
/// be resumed exactly at any optimiser step.
/// </summary>
public sealed class Trainer : IDisposable
{
    private readonly IpsConfig _config;
    private readonly Device _device;
    private readonly GroupSelector _groups;
    private readonly Evaluator _evaluator;
    private readonly AdamW _optimizer;
    private readonly LoadingMode _mode;

    // The training loss and metric accumulators of the current epoch; they outlive a mid-epoch stop so that a
    // checkpoint can carry them and the resumed epoch reports the scores of all its iterations.
    private readonly EpochMetrics _trainSums;

    /// <summary>Creates a fresh model and optimiser for <paramref name="config"/> on <paramref name="device"/>.</summary>
    public Trainer(IpsConfig config, Device device)
    {
        _config = config;
        _device = device;
        _mode = LoadingModes.Of(config);
        _trainSums = new EpochMetrics(config.Tasks);
        torch.manual_seed(config.Seed);
        Net = new IpsNet(config);
        Net.to(device);
        var selector = new IterativePatchSelector(Net);
        _groups = new GroupSelector(selector, config, device);
        Workers = LoaderWorkers.Choose(config.NWorker, device);
        _evaluator = new Evaluator(Net, selector, device, Workers.Chosen);
        Notes = new[] { Workers.Note, IterativePatchSelector.SlowCpuNote(config, device, Native.CpuFeatures.NativeBfloat16) }
            .OfType<string>().ToArray();
        // The learning rate is set before every step from the schedule; 0 here as in the official code.
        _optimizer = torch.optim.AdamW(Net.parameters(), lr: 0, weight_decay: config.Wd);
    }

    /// <summary>The network being trained.</summary>
    public IpsNet Net { get; }

    /// <summary>Background loader threads: the config's <c>n_worker</c>, or fewer where it would take cores from compute.</summary>
    public LoaderWorkers Workers { get; }

    /// <summary>
    /// What a command says once before training: the loader threads chosen instead of the config's, a selection
    /// precision this CPU would emulate (<see cref="IterativePatchSelector.SlowCpuNote"/>); empty when the config fits the machine.
    /// </summary>
    public IReadOnlyList<string> Notes { get; }

    /// <summary>The loading mode derived from the config.</summary>
    public LoadingMode Mode => _mode;

    /// <summary>Optimiser steps taken so far.</summary>
    public long Step { get; private set; }

    /// <summary>The next epoch to train (0-based).</summary>
    public int Epoch { get; private set; }

    /// <summary>Data-loader iterations of <see cref="Epoch"/> already trained (non-zero only after a mid-epoch stop).</summary>
    public int IterationsDoneInEpoch { get; private set; }

    /// <summary>Learning rate of the last step.</summary>
    public double LearningRate { get; private set; }

    /// <summary>Efficiency figures of the tracked epoch, once it has run with <c>track_efficiency: true</c>.</summary>
    public EfficiencyReport? Efficiency { get; private set; }

    /// <summary>
    /// Called after each backward pass, before the optimiser step, with the batch's selected patch indices
    /// <c>[B, M]</c>: lets tests compare selections and gradients across loading modes.
    /// </summary>
    internal Action<Tensor, IpsNet>? AfterBackward { get; set; }

    /// <summary>Reports progress after each data-loader iteration.</summary>
    public IProgress<PassProgress>? Progress { get; set; }

    /// <summary>
    /// Trains one epoch (or its remainder after a mid-epoch resume). Stops early, at an optimiser-step boundary,
    /// when <paramref name="cancel"/> fires; <see cref="IterationsDoneInEpoch"/> then says where to resume.
    /// Returns the scores of the epoch's iterations so far, those before a resume included (they come back with
    /// the checkpoint); the epoch counter advances only when the epoch completed.
    /// </summary>
    /// <param name="data">The training set.</param>
    /// <param name="cancel">Stops the epoch at the next optimiser step.</param>
    /// <param name="afterStep">Called after every optimiser step but the epoch's last, when the trainer's state is
    /// that of a step boundary: a caller may write a checkpoint there.</param>
    public Dictionary<string, TaskScores> TrainEpoch(IIpsDataset data, CancellationToken cancel = default, Action? afterStep = null)
    {
        RequireData(data, "training");
        var iterationsPerEpoch = IterationsPerEpoch(data.Count);
        var schedule = new LearningRateSchedule(_config.Lr, _config.NEpoch, _config.NEpochWarmup, iterationsPerEpoch);
        var order = Seeds.ShuffledOrder(_config.Seed, Epoch, data.Count);
        var skip = IterationsDoneInEpoch;
        var remaining = order.Skip(skip * _config.BSeq).ToArray();
        var tracking = _config.TrackEfficiency && Epoch == _config.TrackEpoch;
        var timings = new List<IterationTiming>();
        var meter = _trainSums;
        if (skip == 0)
        {
            meter.Reset();
        }

        Net.train();
        using var pipeline = SampleGroups.Load(data, remaining, _config.BSeq, train: true, Workers.Chosen);
        var pending = new PendingBatch(_config.M);
        var timing = new IterationTiming();
        var clock = Stopwatch.StartNew();
        var iteration = skip;
        using var groups = pipeline.Batches().GetEnumerator();
        while (true)
        {
            var waitStart = clock.Elapsed;
            if (!groups.MoveNext())
            {
                break;
            }
            var group = groups.Current;
            if (pending.Count == 0)
            {
                timing = new IterationTiming { Start = waitStart };
            }
            timing.DataWait += clock.Elapsed - waitStart;

            var selectStart = clock.Elapsed;
            _groups.SelectInto(pending, group, Epoch, iteration);
            timing.Selection += clock.Elapsed - selectStart;
            iteration++;

            var isLast = iteration == iterationsPerEpoch;
            if (pending.Count < _config.B && !isLast)
            {
                continue;
            }

            // LR from the schedule at data-loader iteration data_it + 1, as the official loop does.
            LearningRate = schedule.At((long)Epoch * iterationsPerEpoch + iteration - 1);
            foreach (var groupParams in _optimizer.ParamGroups)
            {
                groupParams.LearningRate = LearningRate;
            }

            using (var scope = NewDisposeScope())
            {
                torch.manual_seed(StepSeed(Step));
                _optimizer.zero_grad();
                var forwardStart = clock.Elapsed;
                var (patches, positions, labels) = pending.Assemble(_device);
                var predictions = Net.call(patches, positions);
                var (total, perTask) = Losses.Compute(predictions, labels, _config.Tasks, _config.Eps);
                total.backward();
                timing.ForwardBackward = clock.Elapsed - forwardStart;
                if (AfterBackward is { } inspect)
                {
                    inspect(pending.SelectedIndices(), Net);
                }
                var optimizerStart = clock.Elapsed;
                _optimizer.step();
                timing.Optimizer = clock.Elapsed - optimizerStart;
                meter.Add(predictions, labels, perTask);
                Progress?.Report(new PassProgress("train", Epoch, iteration, iterationsPerEpoch, total.item<float>()));
            }
            timing.End = clock.Elapsed;
            timing.Images = pending.Count;
            timings.Add(timing);
            pending.Clear();
            Step++;
            IterationsDoneInEpoch = iteration;

            if (cancel.IsCancellationRequested && !isLast)
            {
                return meter.Compute();
            }
            if (!isLast)
            {
                afterStep?.Invoke();
            }
        }

        if (tracking)
        {
            Efficiency = Summarise(timings);
        }
        Epoch++;
        IterationsDoneInEpoch = 0;
        var scores = meter.Compute();
        meter.Reset();
        return scores;
    }

    /// <summary>
    /// Evaluates on <paramref name="data"/> without gradients (evaluation mode, IPS as in training); progress is
    /// reported under the number of the epoch just trained, which the evaluation follows.
    /// </summary>
    public Dictionary<string, TaskScores> Evaluate(IIpsDataset data) => _evaluator.Evaluate(data, Progress, Math.Max(0, Epoch - 1));

    /// <summary>Writes the model, optimiser, counters and config to <paramref name="path"/> atomically.</summary>
    /// <remarks>Mid-epoch, the training accumulators of the epoch so far go with it.</remarks>
    public void SaveCheckpoint(string path, CheckpointState extra) =>
        Checkpoint.Save(path, Net, _optimizer, _config, extra with
        {
            Epoch = Epoch,
            IterationsDoneInEpoch = IterationsDoneInEpoch,
            Step = Step,
            TrainSums = IterationsDoneInEpoch > 0 ? _trainSums.Snapshot() : null,
        });

    /// <summary>Restores the model, optimiser, counters and a partial epoch's training accumulators from a
    /// checkpoint written by <see cref="SaveCheckpoint"/>.</summary>
    public CheckpointState LoadCheckpoint(string path)
    {
        var state = Checkpoint.Load(path, Net, _optimizer);
        Epoch = state.Epoch;
        IterationsDoneInEpoch = state.IterationsDoneInEpoch;
        Step = state.Step;
        _trainSums.Reset();
        if (state.TrainSums is { } sums)
        {
            _trainSums.Restore(sums);
        }
        return state;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _optimizer.Dispose();
        Net.Dispose();
    }

    /// <summary>Data-loader iterations per epoch: <c>ceil(n / B_seq)</c>.</summary>
    public int IterationsPerEpoch(int examples) => (examples + _config.BSeq - 1) / _config.BSeq;

    private EfficiencyReport Summarise(List<IterationTiming> timings)
    {
        // First and last iteration excluded, as in the official efficiency tracking.
        var kept = timings.Count > 2 ? timings.Skip(1).Take(timings.Count - 2).ToList() : timings;
        double Mean(Func<IterationTiming, TimeSpan> pick) => kept.Count == 0 ? 0 : kept.Average(t => pick(t).TotalMilliseconds);
        var seconds = kept.Sum(t => (t.End - t.Start).TotalSeconds);
        var onGpu = _device.type == DeviceType.CUDA;
        var peak = onGpu ? Native.GpuMemory.UsedBytes(_device.index < 0 ? 0 : _device.index) : ProcessMemory.PeakResidentBytes();
        return new EfficiencyReport(
            kept.Count,
            Mean(t => t.End - t.Start),
            Mean(t => t.DataWait),
            Mean(t => t.Selection),
            Mean(t => t.ForwardBackward),
            Mean(t => t.Optimizer),
            peak,
            onGpu ? "GPU memory in use (NVML)" : "process peak resident memory",
            seconds > 0 ? kept.Sum(t => t.Images) / seconds : 0);
    }

    private void RequireData(IIpsDataset data, string what)
    {
        if (data.Count == 0)
        {
            throw new ArgumentException($"config {Path.GetFileName(_config.Source)}: the {what} set is empty.");
        }
    }

    private long StepSeed(long step) => Seeds.Mix(_config.Seed, step, 0x57E9);

    private sealed class IterationTiming
    {
        public TimeSpan Start { get; init; }
        public TimeSpan End { get; set; }
        public TimeSpan DataWait { get; set; }
        public TimeSpan Selection { get; set; }
        public TimeSpan ForwardBackward { get; set; }
        public TimeSpan Optimizer { get; set; }
        public int Images { get; set; }
    }
}
