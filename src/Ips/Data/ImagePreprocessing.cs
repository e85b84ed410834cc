using Ips.Configuration;
using Ips.Data.Traffic;
using static TorchSharp.torch;

namespace Ips.Data;

/// <summary>A photo made ready for the model, and the picture attention is drawn on.</summary>
/// <param name="Input">What the encoder reads, <c>[C, H, W]</c> in the model's geometry and value range.</param>
/// <param name="Picture">The photo in <c>[0, 1]</c> laid out like <paramref name="Input"/>, for attention pictures.</param>
public sealed record PreparedImage(Tensor Input, Tensor Picture) : IDisposable
{
    /// <inheritdoc />
    public void Dispose()
    {
        if (!ReferenceEquals(Input, Picture))
        {
            Picture.Dispose();
        }
        Input.Dispose();
    }
}

/// <summary>
/// The test-time preprocessing of a data set: what turns a decoded photo (<c>[C, h, w]</c> in <c>[0, 1]</c>) into
/// the model's input, so that prediction sees what training saw.
/// </summary>
public interface IImagePreprocessing
{
    /// <summary>Prepares <paramref name="photo"/>; the caller keeps ownership of it and owns the result.</summary>
    PreparedImage Prepare(Tensor photo);
}

/// <summary>Resolves the preprocessing of a config's data set.</summary>
public static class ImagePreprocessing
{
    /// <summary>
    /// The preprocessing of the data set in <paramref name="config"/>'s <c>data_dir</c>, recognised by its files as
    /// <see cref="DatasetCatalog"/> does: the traffic-sign resize and ImageNet normalisation for an STS folder, else
    /// the pixels in <c>[0, 1]</c> as they are (Megapixel MNIST and plain images).
    /// </summary>
    public static IImagePreprocessing For(IpsConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return TrafficSigns.Holds(config.DataDir) ? TrafficPreprocessing.FromConfig(config) : Identity.Instance;
    }

    /// <summary>Pixels in <c>[0, 1]</c>, unchanged.</summary>
    private sealed class Identity : IImagePreprocessing
    {
        public static readonly Identity Instance = new();

        public PreparedImage Prepare(Tensor photo)
        {
            var input = photo.alias();
            return new PreparedImage(input, input);
        }
    }
}
