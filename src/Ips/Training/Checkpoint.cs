using System.Text.Json;
using Ips.Configuration;
using Ips.IO;
using Ips.Modeling;
using TorchSharp.Modules;

namespace Ips.Training;

/// <summary>Counters and bookkeeping stored in a training checkpoint besides the weights.</summary>
/// <param name="Epoch">Next epoch to train.</param>
/// <param name="IterationsDoneInEpoch">Data-loader iterations of that epoch already trained.</param>
/// <param name="Step">Optimiser steps taken.</param>
/// <param name="BestMetric">Best test metric of the first task so far (NaN before the first evaluation).</param>
/// <param name="BestEpoch">Epoch at which <paramref name="BestMetric"/> was reached (-1 before).</param>
/// <param name="Log">The run log's rows of the completed epochs, from which a resumed run rewrites <c>metrics.csv</c>
/// and TensorBoard (null in checkpoints written before the log was stored).</param>
/// <param name="TrainSums">Mid-epoch only: the training loss and metric accumulators of the iterations already
/// trained in <paramref name="Epoch"/>, by task name, so the resumed epoch's training scores count them.</param>
public sealed record CheckpointState(
    int Epoch, int IterationsDoneInEpoch, long Step, double BestMetric, int BestEpoch,
    IReadOnlyList<EpochRecord>? Log = null, IReadOnlyDictionary<string, AccumulatorState>? TrainSums = null)
{
    /// <summary>The state of a run that has not started.</summary>
    public static CheckpointState Initial { get; } = new(0, 0, 0, double.NaN, -1);
}

/// <summary>
/// A training checkpoint: one zip file holding <c>model.pt</c> (a PyTorch state_dict under the official
/// parameter names, loadable by the official implementation once extracted), <c>optimizer.bin</c> (TorchSharp's
/// AdamW state), <c>state.json</c> and <c>config.yml</c>. Written to a temporary file and renamed, so a crash
/// never leaves a half-written checkpoint in place of a good one.
/// </summary>
public static class Checkpoint
{
    private const string ModelEntry = "model.pt";
    private const string OptimizerEntry = "optimizer.bin";
    private const string StateEntry = "state.json";
    private const string ConfigEntry = "config.yml";

    private static readonly string Kind =
        $"an IPS training checkpoint (expected a zip with {ModelEntry}, {OptimizerEntry}, {StateEntry}, {ConfigEntry})";

    /// <summary>Saves a checkpoint atomically.</summary>
    public static void Save(string path, IpsNet net, AdamW optimizer, IpsConfig config, CheckpointState state) =>
        CheckpointArchive.Write(path,
            scratch =>
            {
                StateDictIO.Save(net, Path.Combine(scratch, ModelEntry));
                optimizer.save_state_dict(Path.Combine(scratch, OptimizerEntry));
            },
            [(StateEntry, JsonSerializer.Serialize(state, JsonOptions)), (ConfigEntry, ConfigLoader.ToYaml(config))]);

    /// <summary>Restores weights and optimiser state; returns the stored counters.</summary>
    /// <exception cref="InvalidDataException">The file is not a checkpoint written by <see cref="Save"/>.</exception>
    public static CheckpointState Load(string path, IpsNet net, AdamW optimizer) =>
        CheckpointArchive.Read(path, Kind, [ModelEntry, OptimizerEntry], (zip, scratch) =>
        {
            var state = JsonSerializer.Deserialize<CheckpointState>(CheckpointArchive.ReadText(zip, path, StateEntry), JsonOptions)
                ?? throw new InvalidDataException($"{path}: {StateEntry} is empty.");
            StateDictIO.Load(net, Path.Combine(scratch, ModelEntry));
            optimizer.load_state_dict(Path.Combine(scratch, OptimizerEntry));
            return state;
        });

    /// <summary>The config stored in a checkpoint (YAML text).</summary>
    public static string ReadConfigYaml(string path)
    {
        using var zip = CheckpointArchive.Open(path, Kind);
        return CheckpointArchive.ReadText(zip, path, ConfigEntry);
    }

    /// <summary>
    /// Loads the model weights (<c>model.pt</c>) of a checkpoint into <paramref name="net"/>, read from the archive
    /// itself: nothing is extracted to disk.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is not a checkpoint, or its weights do not match <paramref name="net"/>.</exception>
    public static void LoadModel(string path, IpsNet net)
    {
        using var zip = CheckpointArchive.Open(path, Kind);
        using var model = CheckpointArchive.OpenEntry(zip, path, ModelEntry);
        StateDictIO.Load(net, model, $"{path}:{ModelEntry}");
    }

    /// <summary>Copies the model weights (<c>model.pt</c>) out of a checkpoint to <paramref name="destination"/>.</summary>
    public static void ExtractModel(string path, string destination) =>
        CheckpointArchive.ExtractTo(path, Kind, ModelEntry, destination);

    /// <summary>True when <paramref name="path"/> looks like a checkpoint of this class (a zip with model.pt and state.json).</summary>
    public static bool IsCheckpoint(string path) => CheckpointArchive.Holds(path, ModelEntry, StateEntry);

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };
}
