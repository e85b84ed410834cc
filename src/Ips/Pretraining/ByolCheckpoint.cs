using Ips.Encoders;
using Ips.IO;

namespace Ips.Pretraining;

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

    private const string ProjectorEntry = "projector.pt";
    private const string PredictorEntry = "predictor.pt";
    private const string LarsEntry = "lars.pt";
    private const string ConfigEntry = "config.yml";

    private static readonly string Kind =
        $"a BYOL checkpoint (expected a zip with {ByolEncoderFile.EncoderEntry}, {ProjectorEntry}, {PredictorEntry}, {ByolEncoderFile.TargetEntry}, {LarsEntry}, {ByolEncoderFile.StateEntry}, {ConfigEntry})";

    /// <summary>Writes the whole training state to <paramref name="path"/> atomically.</summary>
    public static void Save(string path, ByolNetwork net, Lars lars, ByolConfig config, ByolState state)
    {
        ArgumentNullException.ThrowIfNull(net);
        ArgumentNullException.ThrowIfNull(lars);
        CheckpointArchive.Write(path,
            scratch =>
            {
                StateDictIO.Save(net.Online.Backbone, Path.Combine(scratch, ByolEncoderFile.EncoderEntry));
                StateDictIO.Save(net.Online.Projector, Path.Combine(scratch, ProjectorEntry));
                StateDictIO.Save(net.Predictor, Path.Combine(scratch, PredictorEntry));
                StateDictIO.Save(net.Target, Path.Combine(scratch, ByolEncoderFile.TargetEntry));
                StateDictIO.Save(lars.StateDict(), Path.Combine(scratch, LarsEntry));
            },
            [(ByolEncoderFile.StateEntry, ByolEncoderFile.SerializeState(state)), (ConfigEntry, ByolConfigLoader.ToYaml(config))]);
    }

    /// <summary>Restores networks and optimiser from <paramref name="path"/>; returns the stored state.</summary>
    /// <exception cref="InvalidDataException">The file is not a BYOL checkpoint or does not match the network.</exception>
    public static ByolState Load(string path, ByolNetwork net, Lars lars)
    {
        ArgumentNullException.ThrowIfNull(net);
        ArgumentNullException.ThrowIfNull(lars);
        return CheckpointArchive.Read(path, Kind, [ByolEncoderFile.EncoderEntry, ProjectorEntry, PredictorEntry, ByolEncoderFile.TargetEntry, LarsEntry], (zip, scratch) =>
        {
            var state = ByolEncoderFile.ParseState(CheckpointArchive.ReadText(zip, path, ByolEncoderFile.StateEntry), path);
            StateDictIO.Load(net.Online.Backbone, Path.Combine(scratch, ByolEncoderFile.EncoderEntry));
            StateDictIO.Load(net.Online.Projector, Path.Combine(scratch, ProjectorEntry));
            StateDictIO.Load(net.Predictor, Path.Combine(scratch, PredictorEntry));
            StateDictIO.Load(net.Target, Path.Combine(scratch, ByolEncoderFile.TargetEntry));
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

    /// <summary>The stored config with <paramref name="overrides"/> (<c>key=value</c>) applied.</summary>
    public static ByolConfig ReadConfig(string path, IReadOnlyList<string>? overrides = null)
    {
        using var zip = CheckpointArchive.Open(path, Kind);
        return ByolConfigLoader.Parse(CheckpointArchive.ReadText(zip, path, ConfigEntry), path, overrides);
    }

    /// <summary>Copies <c>encoder.pt</c> out of the checkpoint to <paramref name="destination"/> atomically.</summary>
    public static void ExtractEncoder(string path, string destination) =>
        CheckpointArchive.ExtractTo(path, Kind, ByolEncoderFile.EncoderEntry, destination);
}
