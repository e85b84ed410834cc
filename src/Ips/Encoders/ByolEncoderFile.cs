using System.Text.Json;
using System.Text.Json.Serialization;
using Ips.IO;

namespace Ips.Encoders;

/// <summary>The counters and facts stored in a BYOL checkpoint's <c>state.json</c>.</summary>
/// <param name="Step">Optimiser steps taken (the next step's 0-based index).</param>
/// <param name="TotalSteps">Steps of the whole run (epochs x steps per epoch).</param>
/// <param name="Backbone">The backbone's architecture, a name of <see cref="EncoderRegistry"/>.</param>
/// <param name="FeatureDim">Width of the backbone's pooled output (2048 or 512).</param>
/// <param name="Mean">Per-channel (RGB) mean subtracted from [0, 1] pixels before the encoder.</param>
/// <param name="Std">Per-channel (RGB) standard deviation the centred pixels are divided by.</param>
/// <param name="ImageSize">Side of the square views the encoder was trained on.</param>
/// <param name="Loss">Loss of the last step (NaN before the first).</param>
public sealed record ByolState(
    long Step, long TotalSteps, string Backbone, int FeatureDim, float[] Mean, float[] Std, int ImageSize, double Loss);

/// <summary>
/// The encoder inside a BYOL pre-training checkpoint (<c>byol.ckpt</c>, a zip written by BYOL pre-training): its
/// <c>encoder.pt</c> (a torchvision ResNet state_dict without <c>fc.*</c>) and the <see cref="ByolState"/> in
/// <c>state.json</c> that says which architecture it is and how its input was normalised. Reading the encoder needs
/// nothing of pre-training, so feature extraction and prediction open the file through this class.
/// </summary>
public static class ByolEncoderFile
{
    /// <summary>Entry (and run-directory file) name of the encoder state_dict.</summary>
    public const string EncoderEntry = "encoder.pt";

    /// <summary>Entry name of the target network, whose presence tells a BYOL checkpoint from other zips.</summary>
    public const string TargetEntry = "target.pt";

    /// <summary>Entry name of the <see cref="ByolState"/>.</summary>
    public const string StateEntry = "state.json";

    private static readonly string Kind = $"a BYOL checkpoint (expected a zip with {EncoderEntry}, {TargetEntry} and {StateEntry})";

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>True when <paramref name="path"/> is a BYOL checkpoint (a zip with <c>encoder.pt</c>, <c>target.pt</c> and <c>state.json</c>).</summary>
    public static bool IsCheckpoint(string path) => CheckpointArchive.Holds(path, EncoderEntry, TargetEntry, StateEntry);

    /// <summary>The stored <see cref="ByolState"/> (normalisation, backbone, step) without loading weights.</summary>
    /// <exception cref="InvalidDataException">The file is no BYOL checkpoint, or its state is damaged.</exception>
    public static ByolState ReadState(string path)
    {
        using var zip = CheckpointArchive.Open(path, Kind);
        return ParseState(CheckpointArchive.ReadText(zip, path, StateEntry), path);
    }

    /// <summary>
    /// The trained encoder of the checkpoint at <paramref name="path"/> (a fresh <see cref="ResNetBackbone"/> on the
    /// CPU, in evaluation mode) and its state (for the input normalisation).
    /// </summary>
    public static (ResNetBackbone Encoder, ByolState State) Load(string path)
    {
        var state = ReadState(path);
        var encoder = new ResNetBackbone(state.Backbone);
        try
        {
            // Read from the archive itself, so errors name the checkpoint and entry rather than a scratch copy.
            using var zip = CheckpointArchive.Open(path, Kind);
            using var weights = CheckpointArchive.OpenEntry(zip, path, EncoderEntry);
            StateDictIO.Load(encoder, weights, $"{path}:{EncoderEntry}");
        }
        catch
        {
            encoder.Dispose();
            throw;
        }
        encoder.eval();
        return (encoder, state);
    }

    /// <summary><paramref name="state"/> as the JSON text of <c>state.json</c>.</summary>
    public static string SerializeState(ByolState state) => JsonSerializer.Serialize(state, JsonOptions);

    /// <summary>The <see cref="ByolState"/> in <paramref name="json"/>, the <c>state.json</c> of <paramref name="path"/>.</summary>
    /// <exception cref="InvalidDataException">The JSON is not valid or lacks backbone, mean or std.</exception>
    public static ByolState ParseState(string json, string path)
    {
        try
        {
            var state = JsonSerializer.Deserialize<ByolState>(json, JsonOptions);
            if (state is null || state.Mean is not { Length: 3 } || state.Std is not { Length: 3 } || state.Backbone is null)
            {
                throw new InvalidDataException($"{path}: {StateEntry} lacks backbone, mean or std.");
            }
            // Checked here, where the file can be named (found by fuzzing: a damaged name reached the encoder registry).
            if (EncoderRegistry.Find(state.Backbone) is not ResNetType)
            {
                throw new InvalidDataException(
                    $"{path}: {StateEntry} names backbone '{state.Backbone}'; expected one of {string.Join(", ", EncoderRegistry.ResNetNames)}.");
            }
            return state;
        }
        catch (JsonException error)
        {
            throw new InvalidDataException($"{path}: {StateEntry} is not valid: {error.Message}", error);
        }
    }
}
