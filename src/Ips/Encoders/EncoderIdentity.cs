using System.Globalization;
using System.Security.Cryptography;

namespace Ips.Encoders;

/// <summary>
/// What makes a tile encoder's features what they are, recorded in every file of its features so that features of
/// two encoders are never mixed: the weights (by the SHA-256 of their file; the file name is for people), how tiles
/// are normalised, the side they are cropped to and the width of a feature vector.
/// </summary>
/// <param name="Name">The weights file's name, e.g. <c>byol.ckpt</c>.</param>
/// <param name="Sha256">SHA-256 of the weights file, lower-case hex.</param>
/// <param name="Normalisation"><c>byol</c>, <c>imagenet</c> or <c>none</c>.</param>
/// <param name="Mean">Per-channel mean subtracted from [0, 1] pixels, or null for <c>none</c>.</param>
/// <param name="Std">Per-channel standard deviation divided by, or null for <c>none</c>.</param>
/// <param name="InputSize">Side of the centre crop fed to the encoder.</param>
/// <param name="Width">Width of a feature vector.</param>
/// <param name="Architecture">The network (a preset or timm name, e.g. <c>uni2-h</c>), or null for a ResNet/BYOL file.</param>
/// <param name="Pool">How a vision transformer's tokens are pooled (<c>token</c>, <c>avg</c>, <c>token+avg</c>), or null.</param>
public sealed record EncoderIdentity(
    string Name, string Sha256, string Normalisation, float[]? Mean, float[]? Std, int InputSize, int Width, string? Architecture = null, string? Pool = null)
{
    /// <summary>Whether features of <paramref name="other"/> are features of this encoder (the name aside).</summary>
    public bool SameFeatures(EncoderIdentity other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return Sha256 == other.Sha256 && Normalisation == other.Normalisation && InputSize == other.InputSize && Width == other.Width
            && Architecture == other.Architecture && Pool == other.Pool
            && (Mean ?? []).SequenceEqual(other.Mean ?? []) && (Std ?? []).SequenceEqual(other.Std ?? []);
    }

    /// <summary>SHA-256 of the file at <paramref name="path"/>, lower-case hex.</summary>
    public static string HashFile(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Name} ({(Architecture is null ? "" : Architecture + ", ")}sha256 {Sha256[..Math.Min(12, Sha256.Length)]}, normalisation {Normalisation}, input {InputSize}, {Width}-d{(Pool is null ? "" : ", pool " + Pool)})");
}
