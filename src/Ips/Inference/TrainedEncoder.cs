using Ips.Configuration;
using Ips.Encoders;

namespace Ips.Inference;

/// <summary>
/// The tile encoder a feature model was trained on, as its config or checkpoint records it
/// (<c>feature_encoder</c>, <c>feature_encoder_sha256</c>), held against the encoder that features given to the model
/// record: features of another encoder are other numbers, and a model's scores on them mean nothing.
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
            : config with { FeatureEncoder = trained.FeatureEncoder, FeatureEncoderSha256 = trained.FeatureEncoderSha256 };

    /// <summary>
    /// Throws when <paramref name="recorded"/> (the encoder that <paramref name="what"/> records) is not the encoder
    /// <paramref name="trained"/> (a config from <see cref="Of"/>) records. Nothing to compare, and no error, when
    /// either records none.
    /// </summary>
    /// <exception cref="ArgumentException">The two encoders differ; the message names both.</exception>
    public static void Require(IpsConfig trained, EncoderIdentity? recorded, string what)
    {
        if (recorded is null || trained.FeatureEncoderSha256 is not { } sha256 || sha256 == recorded.Sha256)
        {
            return;
        }
        throw new ArgumentException(
            $"{what} holds features of encoder {recorded}, but the model was trained on features of {trained.FeatureEncoder} " +
            $"(sha256 {sha256[..Math.Min(12, sha256.Length)]}); give it features of that encoder.");
    }
}
