using System.Diagnostics;
using System.Text.Json;
using Ips.Configuration;
using Ips.Data;
using Ips.Data.Camelyon16;
using Ips.Data.OwnImages;
using Ips.IO;
using static TorchSharp.torch;

namespace Ips.Training;

/// <summary>What a run reports to its caller after every epoch.</summary>
/// <param name="Record">The epoch's row (also written to the run log).</param>
/// <param name="IsBest">Whether the first task's test metric improved.</param>
public sealed record EpochReport(EpochRecord Record, bool IsBest);

/// <summary>
/// A training run in a directory: epochs of <see cref="Trainer.TrainEpoch"/> and <see cref="Trainer.Evaluate"/>,
/// the run log (CSV, TensorBoard, curves), <c>last.ckpt</c> after every epoch, on a stop and every
/// <see cref="CheckpointEvery"/> within an epoch, and <c>best.ckpt</c> plus <c>best-model.pt</c> when the first
/// task's test metric improves. A run directory holding <c>last.ckpt</c> can be resumed exactly where it stopped,
/// from any working directory.
/// </summary>
/// <remarks>
/// What a stop at any moment leaves: the checkpoint is written before the log rows that it holds, and a resumed run
/// rewrites the log from the checkpoint, so <c>metrics.csv</c> only ever shows completed, checkpointed epochs and a
/// resumed run's log equals an uninterrupted one's. The directory is locked (<see cref="RunDirectoryLock"/>) while
/// the run uses it.
/// </remarks>
public sealed class TrainingRun : IDisposable
{
    /// <summary>File name of the checkpoint written after every epoch.</summary>
    public const string LastCheckpoint = "last.ckpt";

    /// <summary>File name of the checkpoint with the best first-task test metric.</summary>
    public const string BestCheckpoint = "best.ckpt";

    /// <summary>The best model's weights alone, as a PyTorch state_dict with the official names.</summary>
    public const string BestModel = "best-model.pt";

    /// <summary>File name of the run's config (paths absolute) in the run directory.</summary>
    public const string ConfigFile = "config.yml";

    /// <summary>File name of the efficiency figures of the tracked epoch.</summary>
    public const string EfficiencyFile = "efficiency.json";

    private readonly string _directory;
    private readonly RunLog _log;
    private readonly RunDirectoryLock _lock;
    private readonly Stopwatch _sinceSave = Stopwatch.StartNew();
    private CheckpointState _state;
    private long _stepAtSave;

    private TrainingRun(string directory, IpsConfig config, Trainer trainer, CheckpointState state, RunDirectoryLock runLock, RunLog log)
    {
        _directory = directory;
        Config = config;
        Trainer = trainer;
        _state = state;
        _stepAtSave = state.Step;
        _lock = runLock;
        _log = log;
    }

    /// <summary>The run's config.</summary>
    public IpsConfig Config { get; }

    /// <summary>The trainer (model, optimiser, counters).</summary>
    public Trainer Trainer { get; }

    /// <summary>The run directory.</summary>
    public string Directory => _directory;

    /// <summary>Best first-task test metric so far (NaN before any evaluation).</summary>
    public double BestMetric => _state.BestMetric;

    /// <summary>How often <c>last.ckpt</c> is also written within an epoch (default every 10 minutes).</summary>
    public CheckpointInterval CheckpointEvery { get; set; } = CheckpointInterval.Default;

    /// <summary>
    /// Starts a new run in <paramref name="directory"/>. Refused when the directory holds a checkpoint (resume it)
    /// or the results of an earlier run without one, or when another run uses it. Relative paths of the config are
    /// made absolute against the current directory, so the stored config works from anywhere.
    /// </summary>
    public static TrainingRun Start(string directory, IpsConfig config, Device device)
    {
        ArgumentNullException.ThrowIfNull(config);
        var runLock = RunDirectoryLock.Acquire(directory);
        Trainer? trainer = null;
        try
        {
            if (File.Exists(Path.Combine(directory, LastCheckpoint)))
            {
                throw new ArgumentException($"run directory {directory} already holds {LastCheckpoint}: resume it with --resume {directory}, or choose another --run-dir.");
            }
            // Results without a checkpoint belong to an earlier run that cannot be resumed (its checkpoint was
            // deleted, or it is not a run of this program). Starting over would overwrite its log and best model,
            // and appending to them would mix two runs, so the choice is left to the user.
            var earlier = new[] { "metrics.csv", BestCheckpoint, BestModel }.Where(f => File.Exists(Path.Combine(directory, f))).ToList();
            if (earlier.Count > 0)
            {
                throw new ArgumentException($"run directory {directory} holds {string.Join(", ", earlier)} of an earlier run but no {LastCheckpoint} to resume it from: "
                    + "choose another --run-dir, or delete those files to start over there.");
            }
            AtomicFile.RemoveStaleTemporaries(directory);
            // Prediction prepares photos as this data set does, embeds slides with the encoder of these features and names
            // the classes of your own images: all recorded now so that it need not find the data set.
            var resolved = OwnImagesDataset.RecordClasses(Camelyon16Dataset.RecordEncoder(ImagePreprocessing.Record(WithAbsolutePaths(config))));
            AtomicFile.Write(Path.Combine(directory, ConfigFile), temporary =>
                File.WriteAllText(temporary, GivenPathsComment(config, resolved) + ConfigLoader.ToYaml(resolved)));
            trainer = new Trainer(resolved, device);
            var log = new RunLog(directory, resolved.Tasks);
            // An earlier start that was stopped before its first checkpoint may have left TensorBoard files.
            log.Restore([]);
            return new TrainingRun(directory, resolved, trainer, CheckpointState.Initial with { Log = [] }, runLock, log);
        }
        catch
        {
            trainer?.Dispose();
            runLock.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Resumes the run in <paramref name="directory"/> from its <c>last.ckpt</c>, with the config stored there, and
    /// rewrites the run log from the checkpoint (rows of epochs trained after it are dropped; they will be trained
    /// again).
    /// </summary>
    public static TrainingRun Resume(string directory, Device device, IReadOnlyList<string>? overrides = null)
    {
        var checkpoint = Path.Combine(directory, LastCheckpoint);
        if (!File.Exists(checkpoint))
        {
            throw new FileNotFoundException($"--resume {directory}: no {LastCheckpoint} there; start a run with --run-dir instead.", checkpoint);
        }
        var runLock = RunDirectoryLock.Acquire(directory);
        Trainer? trainer = null;
        try
        {
            AtomicFile.RemoveStaleTemporaries(directory);
            var config = ConfigLoader.Parse(Checkpoint.ReadConfigYaml(checkpoint), checkpoint, overrides);
            trainer = new Trainer(config, device);
            var state = trainer.LoadCheckpoint(checkpoint);
            var log = new RunLog(directory, config.Tasks);
            // Checkpoints written before the log was stored in them: keep the CSV rows of the epochs they cover.
            log.Restore(state.Log ?? log.Records.Where(r => r.Epoch <= state.Epoch).ToList());
            return new TrainingRun(directory, config, trainer, state with { Log = log.Records.ToList() }, runLock, log);
        }
        catch
        {
            trainer?.Dispose();
            runLock.Dispose();
            throw;
        }
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
    /// Trains the next epoch (or the rest of it after a resume), evaluates, checkpoints and logs. Returns null when
    /// <paramref name="cancel"/> stopped it; <c>last.ckpt</c> then holds the exact position for <c>--resume</c>.
    /// </summary>
    public EpochReport? RunEpoch(IIpsDataset train, IIpsDataset test, CancellationToken cancel = default)
    {
        if (cancel.IsCancellationRequested)
        {
            SaveLastIfChanged();
            return null;
        }
        var epoch = Trainer.Epoch;
        var trainScores = Trainer.TrainEpoch(train, cancel, SaveLastIfDue);
        if (Trainer.Epoch == epoch)
        {
            SaveLastIfChanged();
            return null;
        }
        var testScores = Trainer.Evaluate(test);
        // The run log numbers epochs from 1, as people count them.
        var record = new EpochRecord(epoch + 1, Trainer.LearningRate, trainScores, testScores);

        var metric = testScores[Config.Tasks[0].Name].Metric;
        var isBest = !double.IsNaN(metric) && (double.IsNaN(_state.BestMetric) || metric > _state.BestMetric);
        _state = _state with { Log = [.. _log.Records, record] };
        if (isBest)
        {
            _state = _state with { BestMetric = metric, BestEpoch = epoch };
        }
        // The checkpoint first: a stop between the two leaves a log without the row, which the resumed run
        // rewrites from the checkpoint; never a row that a resumed run would train and write again.
        SaveLast();
        _log.Add(record);
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

    private void SaveLastIfDue()
    {
        if (CheckpointEvery.IsDue(_sinceSave.Elapsed, Trainer.Step - _stepAtSave))
        {
            SaveLast();
        }
    }

    private void SaveLastIfChanged()
    {
        if (Trainer.Step != _stepAtSave || !File.Exists(Path.Combine(_directory, LastCheckpoint)))
        {
            SaveLast();
        }
    }

    private void SaveLast()
    {
        var path = Path.Combine(_directory, LastCheckpoint);
        try
        {
            Trainer.SaveCheckpoint(path, _state);
        }
        catch (IOException error)
        {
            var previous = File.Exists(path) ? $"the previous {LastCheckpoint} is intact" : $"there is no {LastCheckpoint} yet";
            throw new IOException($"cannot write {path} ({error.Message}); {previous}. Make room and continue with --resume {_directory}.", error);
        }
        _stepAtSave = Trainer.Step;
        _sinceSave.Restart();
    }

    /// <summary>
    /// <paramref name="config"/> with <c>data_dir</c> and <c>pretrained_weights</c> made absolute against the
    /// current directory (<c>train_fname</c>/<c>test_fname</c> are inside <c>data_dir</c> and follow it).
    /// </summary>
    public static IpsConfig WithAbsolutePaths(IpsConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return config with
        {
            DataDir = config.DataDir.Length == 0 ? config.DataDir : Path.GetFullPath(config.DataDir),
            PretrainedWeights = config.PretrainedWeights is { Length: > 0 } weights ? Path.GetFullPath(weights) : config.PretrainedWeights,
        };
    }

    // The stored config holds absolute paths; the values as the user gave them stay on record in a comment.
    private static string GivenPathsComment(IpsConfig given, IpsConfig resolved)
    {
        var changed = new List<string>();
        if (given.DataDir != resolved.DataDir) changed.Add($"#   data_dir: '{given.DataDir}'");
        if (given.PretrainedWeights != resolved.PretrainedWeights) changed.Add($"#   pretrained_weights: '{given.PretrainedWeights}'");
        if (changed.Count == 0) return "";
        return $"# From {given.Source}; relative paths resolved against {Environment.CurrentDirectory}. As given:\n"
            + string.Join('\n', changed) + "\n";
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Trainer.Dispose();
        _lock.Dispose();
    }
}
