using Ips.Configuration;
using Ips.Features;
using Ips.Patches;

namespace Ips.Inference;

/// <summary>
/// A feature matrix as a prediction input: <c>[N, n_chan_in]</c> float32 rows read from disk chunk by chunk
/// (<c>.npy</c>, <c>.safetensors</c>, or a CLAM/TRIDENT per-slide <c>.h5</c>). Rows have no place to draw, so the
/// selected patches are their indices alone.
/// </summary>
internal sealed class FeatureInput : IPredictionInput
{
    private FeatureInput(IPatchSource patches) => Patches = patches;

    /// <summary>The file extensions of feature matrices.</summary>
    public static readonly IReadOnlyList<string> Extensions = [".npy", ".safetensors", ".h5"];

    /// <inheritdoc />
    public IPatchSource Patches { get; }

    /// <summary>
    /// Opens <paramref name="input"/> for <paramref name="config"/>, which must be a feature config of its width and,
    /// where both record one, of the encoder a per-slide <c>.h5</c> file records.
    /// </summary>
    /// <exception cref="ArgumentException">The config expects images, another number of columns, or another encoder.</exception>
    public static FeatureInput Open(string input, IpsConfig config)
    {
        if (config.IsImage)
        {
            throw new ArgumentException($"{input}: a feature matrix needs a config with is_image: false; config {Path.GetFileName(config.Source)} expects images.");
        }
        var extension = Path.GetExtension(input).ToLowerInvariant();
        if (extension == ".h5" && File.Exists(input))
        {
            TrainedEncoder.Require(config, FeatureProvenance.Read(input)?.Encoder, input);
        }
        IPatchSource source = extension switch
        {
            ".npy" => NpyFeatureSource.Open(input),
            ".h5" => Hdf5FeatureSource.OpenSlideFile(input),
            _ => SafetensorsFeatureSource.Open(input),
        };
        if (source.PatchShape[0] != config.NChanIn)
        {
            source.Dispose();
            throw new ArgumentException($"{input}: features have {source.PatchShape[0]} columns, config {Path.GetFileName(config.Source)} has n_chan_in {config.NChanIn}.");
        }
        return new FeatureInput(source);
    }

    /// <inheritdoc />
    public Prediction Describe(Prediction prediction) => prediction;

    /// <inheritdoc />
    public Prediction DrawAttention(Prediction described, string directory, AttentionLabels labels) => described;

    /// <inheritdoc />
    public void Dispose() => Patches.Dispose();
}
