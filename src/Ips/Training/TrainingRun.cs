using Ips.Configuration;
using Ips.Data;
using System.Text.Json;
using static TorchSharp.torch;

namespace Ips.Training;

/// <summary>What a run reports to its caller after every epoch.</summary>
/// <param name="Record">The epoch's row (also written to the run log).</param>
/// <param name="IsBest">Whether the first task's test metric improved.</param>
public sealed record EpochReport(EpochRecord Record, bool IsBest);

/// <summary>
/// A training run in a directory: epochs of <see cref="Trainer.TrainEpoch"/> and <see cref="Trainer.Evaluate"/>,
/// the run log (CSV, TensorBoard, curves), <c>last.ckpt</c> after every epoch (and on a stop) and
/// <c>best.ckpt</c> plus <c>best-model.pt</c> when the first task's test metric improves. A run directory
/// holding <c>last.ckpt</c> can be resumed exactly where it stopped.
/// </summary>
public sealed class TrainingRun : IDisposable
{
    /// <summary>File name of the checkpoint written after every epoch.</summary>
    public const string LastCheckpoint = "last.ckpt";

    /// <summary>File name of the checkpoint with the best first-task test metric.</summary>
    public const string BestCheckpoint = "best.ckpt";

    /// <summary>The best model's weights alone, as a PyTorch state_dict with the official names.</summary>
    public const string BestModel = "best-model.pt";

    private readonly string _directory;
    private readonly RunLog _log;
    private CheckpointState _state;

    private TrainingRun(string directory, IpsConfig config, Trainer trainer, CheckpointState state)
    {
        _directory = directory;
        Config = config;
        Trainer = trainer;
        _state = state;
        _log = new RunLog(directory, config.Tasks);
    }

    /// <summary>The run's config.</summary>
    public IpsConfig Config { get; }

    /// <summary>The trainer (model, optimiser, counters).</summary>
    public Trainer Trainer { get; }

    /// <summary>The run directory.</summary>
    public string Directory => _directory;

    /// <summary>Best first-task test metric so far (NaN before any evaluation).</summary>
    public double BestMetric => _state.BestMetric;

    /// <summary>Starts a new run in <paramref name="directory"/>, which must not already hold a checkpoint.</summary>
    public static TrainingRun Start(string directory, IpsConfig config, Device device)
    {
        if (File.Exists(Path.Combine(directory, LastCheckpoint)))
        {
            throw new ArgumentException($"run directory {directory} already holds {LastCheckpoint}: resume it with --resume {directory}, or choose another --run-dir.");
        }
        System.IO.Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "config.yml"), ConfigLoader.ToYaml(config));
        return new TrainingRun(directory, config, new Trainer(config, device), CheckpointState.Initial);
    }

    /// <summary>Resumes the run in <paramref name="directory"/> from its <c>last.ckpt</c>, with the config stored there.</summary>
    public static TrainingRun Resume(string directory, Device device, IReadOnlyList<string>? overrides = null)
    {
        var checkpoint = Path.Combine(directory, LastCheckpoint);
        if (!File.Exists(checkpoint))
        {
            throw new FileNotFoundException($"--resume {directory}: no {LastCheckpoint} there; start a run with --run-dir instead.", checkpoint);
        }
        var config = ConfigLoader.Parse(Checkpoint.ReadConfigYaml(checkpoint), checkpoint, overrides);
        var trainer = new Trainer(config, device);
        var state = trainer.LoadCheckpoint(checkpoint);
        return new TrainingRun(directory, config, trainer, state);
    }

    /// <summary>True once <c>n_epoch</c> epochs have been trained.</summary>
    public bool IsComplete => Trainer.Epoch >= Config.NEpoch;

    /// <summary>
    /// Trains until <c>n_epoch</c> epochs are done or <paramref name="cancel"/> fires. Returns true when all epochs
    /// completed; after a stop, <c>last.ckpt</c> holds the state at the last optimiser step.
    /// </summary>
    public bool Run(IIpsDataset train, IIpsDataset test, Action<EpochReport>? onEpoch = null, CancellationToken cancel = default)
    {
        while (!IsComplete)
        {
            if (RunEpoch(train, test, cancel) is not { } report)
            {
                return false;
            }
            onEpoch?.Invoke(report);
        }
        return true;
    }

    /// <summary>
    /// Trains the next epoch (or the rest of it after a resume), evaluates, logs and checkpoints. Returns null when
    /// <paramref name="cancel"/> stopped it; <c>last.ckpt</c> then holds the exact position for <c>--resume</c>.
    /// </summary>
    public EpochReport? RunEpoch(IIpsDataset train, IIpsDataset test, CancellationToken cancel = default)
    {
        if (cancel.IsCancellationRequested)
        {
            SaveLast();
            return null;
        }
        var epoch = Trainer.Epoch;
        var trainScores = Trainer.TrainEpoch(train, cancel);
        if (Trainer.Epoch == epoch)
        {
            SaveLast();
            return null;
        }
        var testScores = Trainer.Evaluate(test);
        // The run log numbers epochs from 1, as people count them.
        var record = new EpochRecord(epoch + 1, Trainer.LearningRate, trainScores, testScores);
        _log.Add(record);

        var metric = testScores[Config.Tasks[0].Name].Metric;
        var isBest = !double.IsNaN(metric) && (double.IsNaN(_state.BestMetric) || metric > _state.BestMetric);
        if (isBest)
        {
            _state = _state with { BestMetric = metric, BestEpoch = epoch };
        }
        SaveLast();
        if (isBest)
        {
            var last = Path.Combine(_directory, LastCheckpoint);
            AtomicFile.Write(Path.Combine(_directory, BestCheckpoint), temporary => File.Copy(last, temporary, overwrite: true));
            Checkpoint.ExtractModel(last, Path.Combine(_directory, BestModel));
        }
        if (Trainer.Efficiency is { } efficiency && Config.TrackEfficiency && epoch == Config.TrackEpoch)
        {
            AtomicFile.Write(Path.Combine(_directory, EfficiencyFile), temporary =>
                File.WriteAllText(temporary, JsonSerializer.Serialize(efficiency, new JsonSerializerOptions { WriteIndented = true })));
        }
        return new EpochReport(record, isBest);
    }

    /// <summary>File name of the efficiency figures of the tracked epoch.</summary>
    public const string EfficiencyFile = "efficiency.json";

    private void SaveLast() => Trainer.SaveCheckpoint(Path.Combine(_directory, LastCheckpoint), _state);

    /// <inheritdoc />
    public void Dispose()
    {
        Trainer.Dispose();
    }
}
