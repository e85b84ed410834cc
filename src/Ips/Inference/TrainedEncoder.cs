using Ips.Configuration;
using Ips.Encoders;

namespace Ips.Inference;

/// <summary>
/// The tile encoder a feature model was trained on, as its config or checkpoint records it
/// (<c>feature_encoder</c>, <c>feature_encoder_sha256</c>, <c>feature_encoder_pool</c>), held against the encoder that
/// features given to the model record, or the <c>--encoder</c> that embeds a slide's tiles: features of other weights,
/// or of the same weights pooled another way, are other numbers, and a model's scores on them mean nothing.
/// </summary>
internal static class TrainedEncoder
{
    /// <summary>
    /// <paramref name="config"/> where it records the encoder; otherwise with the encoder that the training checkpoint
    /// <paramref name="weights"/> records, when it does.
    /// </summary>
    public static IpsConfig Of(IpsConfig config, string weights) =>
        config.IsImage || config.FeatureEncoderSha256 is not null || ModelWeights.TrainedWith(weights) is not { FeatureEncoderSha256: not null } trained
            ? config
            : config with { FeatureEncoder = trained.FeatureEncoder, FeatureEncoderSha256 = trained.FeatureEncoderSha256, FeatureEncoderPool = trained.FeatureEncoderPool };

    /// <summary>
    /// Throws when <paramref name="recorded"/> (the encoder that <paramref name="what"/> records) is not the encoder
    /// <paramref name="trained"/> (a config from <see cref="Of"/>) records, or pools otherwise. Nothing to compare, and
    /// no error, when either records none (or the config records no pooling: a model trained before it was recorded).
    /// </summary>
    /// <exception cref="ArgumentException">The two encoders or poolings differ; the message names both.</exception>
    public static void Require(IpsConfig trained, EncoderIdentity? recorded, string what)
    {
        if (recorded is null || trained.FeatureEncoderSha256 is not { } sha256)
        {
            return;
        }
        if (sha256 != recorded.Sha256)
        {
            throw new ArgumentException(
                $"{what} holds features of encoder {recorded}, but the model was trained on features of {trained.FeatureEncoder} " +
                $"(sha256 {Short(sha256)}); give it features of that encoder.");
        }
        if (PoolDiffers(trained, recorded))
        {
            throw new ArgumentException(
                $"{what} holds features of {recorded.Name} pooled {PoolName(recorded.Pool)}, but the model was trained on its features pooled " +
                $"{trained.FeatureEncoderPool}; extract them again with --pool {trained.FeatureEncoderPool}.");
        }
    }

    /// <summary>
    /// Throws when the tile encoder <paramref name="encoder"/> (opened from <c>--encoder</c> <paramref name="path"/>,
    /// pooled as <c>--pool</c> <paramref name="poolOption"/> or else its own config says) is not the encoder
    /// <paramref name="trained"/> records, or pools otherwise.
    /// </summary>
    /// <exception cref="ArgumentException">The weights or the pooling differ; the message names both.</exception>
    public static void RequireTileEncoder(IpsConfig trained, EncoderIdentity encoder, string path, string? poolOption)
    {
        ArgumentNullException.ThrowIfNull(trained);
        ArgumentNullException.ThrowIfNull(encoder);
        if (trained.FeatureEncoderSha256 is not { } sha256)
        {
            return;
        }
        if (sha256 != encoder.Sha256)
        {
            throw new ArgumentException(
                $"--encoder {path}: is {encoder.Name} (sha256 {Short(encoder.Sha256)}), but the model was trained on features of {trained.FeatureEncoder} (sha256 {Short(sha256)}); use that encoder.");
        }
        if (PoolDiffers(trained, encoder))
        {
            string given = poolOption is null ? "as its config says" : "as --pool says";
            throw new ArgumentException(
                $"--encoder {path}: pools {PoolName(encoder.Pool)} ({given}), but the model was trained on its features pooled {trained.FeatureEncoderPool}; give --pool {trained.FeatureEncoderPool}.");
        }
    }

    /// <summary>
    /// The one-line reason why <c>--pool</c> <paramref name="poolOption"/> cannot give the features that
    /// <paramref name="trained"/> records, or null when it can (or nothing is recorded or asked for); known from the
    /// command line and the model alone, before any input is opened.
    /// </summary>
    public static string? PoolOptionConflict(IpsConfig trained, string? poolOption)
    {
        ArgumentNullException.ThrowIfNull(trained);
        return poolOption is null || trained.FeatureEncoderPool is not { } pool || pool == poolOption
            ? null
            : $"--pool {poolOption}: the model was trained on features pooled {pool} (feature_encoder_pool); give --pool {pool} or leave it out.";
    }

    // A model trained before the pooling was recorded has none to compare.
    private static bool PoolDiffers(IpsConfig trained, EncoderIdentity encoder) =>
        trained.FeatureEncoderPool is { } pool && pool != encoder.Pool;

    private static string PoolName(string? pool) => pool ?? "not at all (a ResNet encoder)";

    private static string Short(string sha256) => sha256[..Math.Min(12, sha256.Length)];
}
