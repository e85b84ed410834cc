using System.Text.Json;
using System.Text.Json.Serialization;
using Ips.IO;

namespace Ips.Pretraining;

/// <summary>The counters and facts stored in a BYOL checkpoint's <c>state.json</c>.</summary>
/// <param name="Step">Optimiser steps taken (the next step's 0-based index).</param>
/// <param name="TotalSteps">Steps of the whole run (epochs x steps per epoch).</param>
/// <param name="Backbone"><c>resnet50</c> or <c>resnet18</c>.</param>
/// <param name="FeatureDim">Width of the backbone's pooled output (2048 or 512).</param>
/// <param name="Mean">Per-channel (RGB) mean subtracted from [0, 1] pixels before the encoder.</param>
/// <param name="Std">Per-channel (RGB) standard deviation the centred pixels are divided by.</param>
/// <param name="ImageSize">Side of the square views the encoder was trained on.</param>
/// <param name="Loss">Loss of the last step (NaN before the first).</param>
public sealed record ByolState(
    long Step, long TotalSteps, string Backbone, int FeatureDim, float[] Mean, float[] Std, int ImageSize, double Loss);

/// <summary>
/// A BYOL pre-training checkpoint (<c>byol.ckpt</c>): one zip, written atomically, holding
/// <list type="bullet">
/// <item><c>encoder.pt</c>: the online backbone as a torchvision ResNet state_dict without <c>fc.*</c>
/// (<c>conv1.weight</c>, <c>bn1.*</c>, <c>layer1.0.conv1.weight</c>, ...), the encoder to extract features with;
/// loads into <c>torchvision.models.resnet50()</c> with <c>strict=False</c>, or into <see cref="ResNetBackbone"/>;</item>
/// <item><c>projector.pt</c>: the online projector (<c>0.*</c> Linear, <c>1.*</c> BatchNorm1d, <c>3.*</c> Linear);</item>
/// <item><c>predictor.pt</c>: the predictor, same layout;</item>
/// <item><c>target.pt</c>: the target network, <c>backbone.*</c> and <c>projector.*</c>;</item>
/// <item><c>lars.pt</c>: the LARS momentum buffers under the online parameter names (<c>online.backbone.conv1.weight</c>, ...,
/// <c>predictor.0.weight</c>, ...);</item>
/// <item><c>state.json</c>: <see cref="ByolState"/>: step, total steps, backbone, feature width, the normalisation of the
/// encoder's input (<c>mean</c>, <c>std</c>, ImageNet's: inputs are <c>(pixel / 255 - mean) / std</c>) and the view size;</item>
/// <item><c>config.yml</c>: the <see cref="ByolConfig"/> of the run.</item>
/// </list>
/// All <c>.pt</c> entries are PyTorch <c>torch.save</c> state_dict files. The run directory also gets a copy of
/// <c>encoder.pt</c> next to <c>byol.ckpt</c> at every checkpoint.
/// </summary>
public static class ByolCheckpoint
{
    /// <summary>File name of the checkpoint in a run directory.</summary>
    public const string FileName = "byol.ckpt";

    /// <summary>Entry (and run-directory file) name of the encoder state_dict.</summary>
    public const string EncoderEntry = "encoder.pt";

    private const string ProjectorEntry = "projector.pt";
    private const string PredictorEntry = "predictor.pt";
    private const string TargetEntry = "target.pt";
    private const string LarsEntry = "lars.pt";
    private const string StateEntry = "state.json";
    private const string ConfigEntry = "config.yml";

    private static readonly string Kind =
        $"a BYOL checkpoint (expected a zip with {EncoderEntry}, {ProjectorEntry}, {PredictorEntry}, {TargetEntry}, {LarsEntry}, {StateEntry}, {ConfigEntry})";

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>Writes the whole training state to <paramref name="path"/> atomically.</summary>
    public static void Save(string path, ByolNetwork net, Lars lars, ByolConfig config, ByolState state)
    {
        ArgumentNullException.ThrowIfNull(net);
        ArgumentNullException.ThrowIfNull(lars);
        CheckpointArchive.Write(path,
            scratch =>
            {
                StateDictIO.Save(net.Online.Backbone, Path.Combine(scratch, EncoderEntry));
                StateDictIO.Save(net.Online.Projector, Path.Combine(scratch, ProjectorEntry));
                StateDictIO.Save(net.Predictor, Path.Combine(scratch, PredictorEntry));
                StateDictIO.Save(net.Target, Path.Combine(scratch, TargetEntry));
                StateDictIO.Save(lars.StateDict(), Path.Combine(scratch, LarsEntry));
            },
            [(StateEntry, JsonSerializer.Serialize(state, JsonOptions)), (ConfigEntry, ByolConfigLoader.ToYaml(config))]);
    }

    /// <summary>Restores networks and optimiser from <paramref name="path"/>; returns the stored state.</summary>
    /// <exception cref="InvalidDataException">The file is not a BYOL checkpoint or does not match the network.</exception>
    public static ByolState Load(string path, ByolNetwork net, Lars lars)
    {
        ArgumentNullException.ThrowIfNull(net);
        ArgumentNullException.ThrowIfNull(lars);
        return CheckpointArchive.Read(path, Kind, [EncoderEntry, ProjectorEntry, PredictorEntry, TargetEntry, LarsEntry], (zip, scratch) =>
        {
            var state = ParseState(CheckpointArchive.ReadText(zip, path, StateEntry), path);
            StateDictIO.Load(net.Online.Backbone, Path.Combine(scratch, EncoderEntry));
            StateDictIO.Load(net.Online.Projector, Path.Combine(scratch, ProjectorEntry));
            StateDictIO.Load(net.Predictor, Path.Combine(scratch, PredictorEntry));
            StateDictIO.Load(net.Target, Path.Combine(scratch, TargetEntry));
            var buffers = StateDictIO.ReadStateDict(Path.Combine(scratch, LarsEntry));
            try
            {
                lars.LoadStateDict(buffers, $"{path} ({LarsEntry})");
            }
            finally
            {
                foreach (var buffer in buffers.Values)
                {
                    buffer.Dispose();
                }
            }
            return state;
        });
    }

    /// <summary>The stored <see cref="ByolState"/> (normalisation, backbone, step) without loading weights.</summary>
    public static ByolState ReadState(string path)
    {
        using var zip = CheckpointArchive.Open(path, Kind);
        return ParseState(CheckpointArchive.ReadText(zip, path, StateEntry), path);
    }

    /// <summary>The stored config with <paramref name="overrides"/> (<c>key=value</c>) applied.</summary>
    public static ByolConfig ReadConfig(string path, IReadOnlyList<string>? overrides = null)
    {
        using var zip = CheckpointArchive.Open(path, Kind);
        return ByolConfigLoader.Parse(CheckpointArchive.ReadText(zip, path, ConfigEntry), path, overrides);
    }

    /// <summary>
    /// The trained encoder of the checkpoint at <paramref name="path"/> (a fresh <see cref="ResNetBackbone"/> on the
    /// CPU, in evaluation mode) and its state (for the input normalisation).
    /// </summary>
    public static (ResNetBackbone Encoder, ByolState State) LoadEncoder(string path)
    {
        var state = ReadState(path);
        var encoder = new ResNetBackbone(state.Backbone);
        try
        {
            CheckpointArchive.Read(path, Kind, [EncoderEntry], (_, scratch) =>
            {
                StateDictIO.Load(encoder, Path.Combine(scratch, EncoderEntry));
                return true;
            });
        }
        catch
        {
            encoder.Dispose();
            throw;
        }
        encoder.eval();
        return (encoder, state);
    }

    /// <summary>Copies <c>encoder.pt</c> out of the checkpoint to <paramref name="destination"/> atomically.</summary>
    public static void ExtractEncoder(string path, string destination) =>
        CheckpointArchive.ExtractTo(path, Kind, EncoderEntry, destination);

    /// <summary>True when <paramref name="path"/> is a BYOL checkpoint (a zip with <c>encoder.pt</c>, <c>target.pt</c> and <c>state.json</c>).</summary>
    public static bool IsCheckpoint(string path) => CheckpointArchive.Holds(path, EncoderEntry, TargetEntry, StateEntry);

    private static ByolState ParseState(string json, string path)
    {
        try
        {
            var state = JsonSerializer.Deserialize<ByolState>(json, JsonOptions);
            if (state is null || state.Mean is not { Length: 3 } || state.Std is not { Length: 3 } || state.Backbone is null)
            {
                throw new InvalidDataException($"{path}: {StateEntry} lacks backbone, mean or std.");
            }
            return state;
        }
        catch (JsonException error)
        {
            throw new InvalidDataException($"{path}: {StateEntry} is not valid: {error.Message}", error);
        }
    }
}
