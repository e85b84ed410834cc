using System.Globalization;
using Ips.Encoders;
using Ips.IO;
using Ips.Slides.TileSets;
using Ips.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Ips.Pretraining;

/// <summary>Progress after one BYOL optimiser step.</summary>
/// <param name="Epoch">0-based epoch of the step.</param>
/// <param name="Done">Steps of that epoch done.</param>
/// <param name="StepsPerEpoch">Steps per epoch.</param>
/// <param name="Step">Steps done in the run.</param>
/// <param name="TotalSteps">Steps of the whole run.</param>
/// <param name="Loss">Symmetrised loss of the step (in [0, 8]).</param>
/// <param name="Tau">EMA rate used after the step.</param>
/// <param name="Lr">Learning rate of the step.</param>
public sealed record ByolProgress(int Epoch, int Done, int StepsPerEpoch, long Step, long TotalSteps, double Loss, double Tau, double Lr);

/// <summary>
/// BYOL pre-training steps: for each batch of tiles, two augmented views, the symmetrised loss of the online
/// prediction against the target projection, a LARS step at the warm-up/cosine learning rate
/// (<see cref="LearningRateSchedule"/> with peak <c>base_lr * batch_size / 256</c>) and the EMA update of the target
/// with <see cref="ByolLoss.Tau"/>. Data order, augmentations and initialisation derive from <c>seed</c> and the step
/// counter, so a run stopped and resumed at any step ends with the same weights as one run straight through.
/// </summary>
public sealed class ByolTrainer : IDisposable
{
    private readonly Device _device;
    private readonly ByolAugmentation _augmentation;

    /// <summary>Creates the networks (backbone from <paramref name="initWeights"/> when given) and the optimiser.</summary>
    public ByolTrainer(ByolConfig config, Device device, string? initWeights = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        Config = config;
        _device = device;
        torch.manual_seed(config.Seed);
        Net = new ByolNetwork(config, initWeights);
        Net.to(device);
        Optimizer = new Lars(Net.TrainableParameters(), config.Momentum, config.WeightDecay, config.TrustCoefficient);
        _augmentation = new ByolAugmentation(config);
    }

    /// <summary>The run's config.</summary>
    public ByolConfig Config { get; }

    /// <summary>Online, predictor and target networks.</summary>
    public ByolNetwork Net { get; }

    /// <summary>The LARS optimiser of the online network and predictor.</summary>
    public Lars Optimizer { get; }

    /// <summary>Optimiser steps taken.</summary>
    public long Step { get; private set; }

    /// <summary>Loss of the last step (NaN before the first).</summary>
    public double LastLoss { get; private set; } = double.NaN;

    /// <summary>Called after every step, before the next batch is taken.</summary>
    public Action<ByolProgress>? StepDone { get; set; }

    /// <summary>Steps per epoch over <paramref name="tileCount"/> tiles: full batches only.</summary>
    /// <exception cref="ArgumentException">Fewer tiles than one batch.</exception>
    public int StepsPerEpoch(int tileCount)
    {
        if (tileCount < Config.BatchSize)
        {
            throw new ArgumentException(
                $"config {Config.Source}: {tileCount} tiles are fewer than batch_size ({Config.BatchSize}); give more tiles or --set batch_size=N.");
        }
        return tileCount / Config.BatchSize;
    }

    /// <summary>
    /// Trains until <c>epochs</c> are done or <paramref name="cancel"/> fires (checked after every step). Returns
    /// true when the run is complete.
    /// </summary>
    public bool Train(ITileSet tiles, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(tiles);
        var stepsPerEpoch = StepsPerEpoch(tiles.Count);
        var totalSteps = (long)stepsPerEpoch * Config.Epochs;
        var schedule = new LearningRateSchedule(Config.PeakLr, Config.Epochs, Config.WarmupEpochs, stepsPerEpoch);
        Net.train();
        while (Step < totalSteps)
        {
            if (cancel.IsCancellationRequested)
            {
                return false;
            }
            var epoch = (int)(Step / stepsPerEpoch);
            var done = (int)(Step % stepsPerEpoch);
            var order = Seeds.ShuffledOrder(Config.Seed, epoch, tiles.Count);
            var remaining = order.Skip(done * Config.BatchSize).Take((stepsPerEpoch - done) * Config.BatchSize).ToArray();
            using var loader = LoadBatches(tiles, remaining);
            foreach (var batch in loader.Batches())
            {
                using (batch)
                {
                    var lr = schedule.At(Step);
                    var tau = ByolLoss.Tau(Step, totalSteps, Config.TauBase);
                    LastLoss = TrainStep(batch, lr, tau);
                    Step++;
                    done++;
                    StepDone?.Invoke(new ByolProgress(epoch, done, stepsPerEpoch, Step, totalSteps, LastLoss, tau, lr));
                }
                if (cancel.IsCancellationRequested && Step < totalSteps)
                {
                    return false;
                }
            }
        }
        return true;
    }

    /// <summary>One BYOL step on <paramref name="tiles"/> <c>[B, 3, H, W]</c> in [0, 1]; returns the loss.</summary>
    public double TrainStep(Tensor tiles, double lr, double tau)
    {
        ArgumentNullException.ThrowIfNull(tiles);
        using var scope = NewDisposeScope();
        var (view1, view2) = _augmentation.Views(tiles.to(_device), Seeds.Mix(Config.Seed, Step, 0xB701));
        Optimizer.ZeroGrad();
        var loss = Net.call(view1, view2);
        loss.backward();
        Optimizer.LearningRate = lr;
        Optimizer.Step();
        Net.UpdateTarget(tau);
        return loss.item<float>();
    }

    /// <summary>
    /// Decodes the tiles of <paramref name="order"/> on <c>n_worker</c> loader threads into consecutive batches
    /// <c>[B, 3, H, W]</c> in [0, 1] on the CPU, owned by the consumer; a short last batch is dropped.
    /// </summary>
    private PrefetchPipeline<Tensor, Tensor> LoadBatches(ITileSet tiles, IReadOnlyList<int> order)
    {
        var batchSize = Config.BatchSize;
        return new PrefetchPipeline<Tensor, Tensor>(
            order.Count / batchSize * batchSize, batchSize, i => tiles.Load(order[i]),
            (batch, decoded) =>
            {
                try
                {
                    CheckSizes(tiles, order, batch * batchSize, decoded);
                    return stack(decoded);
                }
                finally
                {
                    foreach (var tile in decoded)
                    {
                        tile.Dispose();
                    }
                }
            },
            batch => batch.Dispose(), Config.NWorker, capacity: 2);
    }

    private static void CheckSizes(ITileSet tiles, IReadOnlyList<int> order, int start, Tensor[] decoded)
    {
        for (var i = 0; i < decoded.Length; i++)
        {
            if (decoded[i].dim() != 3 || decoded[i].shape[0] != 3 || !decoded[i].shape.SequenceEqual(decoded[0].shape))
            {
                throw new InvalidDataException(
                    $"tile {tiles.Describe(order[start + i])} is [{string.Join(", ", decoded[i].shape)}] but " +
                    $"{tiles.Describe(order[start])} is [{string.Join(", ", decoded[0].shape)}]; pre-training needs RGB tiles of one size.");
            }
        }
    }

    /// <summary>Writes networks, optimiser, step, normalisation and config to <paramref name="path"/> atomically.</summary>
    public void Save(string path, long totalSteps) =>
        ByolCheckpoint.Save(path, Net, Optimizer, Config, new ByolState(
            Step, totalSteps, Config.Backbone, Config.FeatureDim, ImageNetNormalisation.Mean, ImageNetNormalisation.Std, Config.ImageSize, LastLoss));

    /// <summary>Restores networks, optimiser and step from a checkpoint written by <see cref="Save"/>.</summary>
    public ByolState Load(string path)
    {
        var state = ByolCheckpoint.Load(path, Net, Optimizer);
        Step = state.Step;
        LastLoss = state.Loss;
        return state;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Optimizer.Dispose();
        Net.Dispose();
    }
}

/// <summary>
/// A BYOL run in a directory: <c>byol.ckpt</c> (see <see cref="ByolCheckpoint"/>) every <c>checkpoint_every</c>
/// steps, at the end of every epoch, on a stop and at the end, with <c>encoder.pt</c> copied beside it;
/// <c>config.yml</c>; <c>metrics.csv</c> (epoch, step, mean loss of the epoch's steps run in this session, tau, lr)
/// and TensorBoard scalars <c>loss</c>, <c>tau</c>, <c>lr</c> per step under <c>tensorboard/</c>.
/// </summary>
public sealed class ByolRun : IDisposable
{
    private readonly List<double> _epochLosses = [];
    private TorchSharp.Modules.SummaryWriter? _writer;
    private long _totalSteps;
    private long _savedStep = -1;

    private ByolRun(string directory, ByolTrainer trainer)
    {
        Directory = directory;
        Trainer = trainer;
        trainer.StepDone = OnStep;
    }

    /// <summary>The run directory.</summary>
    public string Directory { get; }

    /// <summary>The trainer.</summary>
    public ByolTrainer Trainer { get; }

    /// <summary>Path of the checkpoint.</summary>
    public string CheckpointPath => Path.Combine(Directory, ByolCheckpoint.FileName);

    /// <summary>Path of the exported encoder.</summary>
    public string EncoderPath => Path.Combine(Directory, ByolEncoderFile.EncoderEntry);

    /// <summary>Reports every step (on the training thread).</summary>
    public IProgress<ByolProgress>? Progress { get; set; }

    /// <summary>Starts a run in <paramref name="directory"/>, which must not hold a checkpoint yet.</summary>
    public static ByolRun Start(string directory, ByolConfig config, Device device, string? initWeights = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (File.Exists(Path.Combine(directory, ByolCheckpoint.FileName)))
        {
            throw new ArgumentException($"--out {directory} already holds {ByolCheckpoint.FileName}: continue it with --resume {directory}, or choose another --out.");
        }
        if (initWeights is not null && !File.Exists(initWeights))
        {
            throw new FileNotFoundException($"--init {initWeights}: no such file (a torchvision {config.Backbone} state_dict is expected).", initWeights);
        }
        System.IO.Directory.CreateDirectory(directory);
        AtomicFile.Write(Path.Combine(directory, "config.yml"), temporary => File.WriteAllText(temporary, ByolConfigLoader.ToYaml(config)));
        return new ByolRun(directory, new ByolTrainer(config, device, initWeights));
    }

    /// <summary>Resumes the run in <paramref name="directory"/> from its checkpoint and stored config (plus <paramref name="overrides"/>).</summary>
    public static ByolRun Resume(string directory, Device device, IReadOnlyList<string>? overrides = null)
    {
        var checkpoint = Path.Combine(directory, ByolCheckpoint.FileName);
        if (!File.Exists(checkpoint))
        {
            throw new FileNotFoundException($"--resume {directory}: no {ByolCheckpoint.FileName} there; start a run with --out instead.", checkpoint);
        }
        var trainer = new ByolTrainer(ByolCheckpoint.ReadConfig(checkpoint, overrides), device);
        try
        {
            trainer.Load(checkpoint);
        }
        catch
        {
            trainer.Dispose();
            throw;
        }
        return new ByolRun(directory, trainer);
    }

    /// <summary>
    /// Trains to the end or until <paramref name="cancel"/> fires; either way the checkpoint and <c>encoder.pt</c>
    /// then hold the state after the last step. Returns true when the run is complete.
    /// </summary>
    public bool Run(ITileSet tiles, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(tiles);
        _totalSteps = (long)Trainer.StepsPerEpoch(tiles.Count) * Trainer.Config.Epochs;
        var complete = Trainer.Train(tiles, cancel);
        Save();
        return complete;
    }

    private void OnStep(ByolProgress p)
    {
        _writer ??= torch.utils.tensorboard.SummaryWriter(Path.Combine(Directory, "tensorboard"));
        var step = (int)p.Step;
        _writer.add_scalar("loss", (float)p.Loss, step);
        _writer.add_scalar("tau", (float)p.Tau, step);
        _writer.add_scalar("lr", (float)p.Lr, step);
        _epochLosses.Add(p.Loss);
        if (p.Done == p.StepsPerEpoch)
        {
            AppendMetrics(p);
            _epochLosses.Clear();
        }
        if (p.Done == p.StepsPerEpoch || p.Step % Trainer.Config.CheckpointEvery == 0)
        {
            Save();
        }
        Progress?.Report(p);
    }

    private void AppendMetrics(ByolProgress p)
    {
        var path = Path.Combine(Directory, "metrics.csv");
        var header = File.Exists(path) && new FileInfo(path).Length > 0 ? "" : "epoch,step,loss,tau,lr\n";
        File.AppendAllText(path, header + string.Create(CultureInfo.InvariantCulture,
            $"{p.Epoch + 1},{p.Step},{_epochLosses.Average():R},{p.Tau:R},{p.Lr:R}\n"));
    }

    private void Save()
    {
        // The end of the run is usually also the end of an epoch, saved already.
        if (_savedStep == Trainer.Step && File.Exists(CheckpointPath))
        {
            return;
        }
        _savedStep = Trainer.Step;
        Trainer.Save(CheckpointPath, _totalSteps);
        ByolCheckpoint.ExtractEncoder(CheckpointPath, EncoderPath);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Trainer.Dispose();
    }
}
