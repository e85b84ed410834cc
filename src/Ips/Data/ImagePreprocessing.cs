using Ips.Configuration;
using Ips.Data.OwnImages;
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

/// <summary>
/// The test-time preprocessings by the name a config records in <c>test_preprocessing</c>, and how that name is
/// found: from the data set when training starts, from the config alone for a config that does not record it.
/// </summary>
public static class ImagePreprocessing
{
    /// <summary>The traffic-sign data set's: resize to the model's geometry, ImageNet normalisation (<see cref="TrafficPreprocessing"/>).</summary>
    public const string Traffic = "traffic";

    /// <summary>Your own images' (<see cref="OwnImagePreprocessing"/>): <c>image_size</c>, <c>normalize</c>, padding to the patch grid.</summary>
    public const string Images = "images";

    /// <summary>Megapixel MNIST's (and plain images'): the pixels in <c>[0, 1]</c> as they are.</summary>
    public const string None = "none";

    /// <summary>The preprocessing <paramref name="name"/> (<see cref="Traffic"/>, <see cref="Images"/> or <see cref="None"/>) at <paramref name="config"/>'s geometry.</summary>
    /// <exception cref="ArgumentException">The name is neither, or the config's geometry does not suit it.</exception>
    public static IImagePreprocessing Named(string name, IpsConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return name switch
        {
            Traffic => TrafficPreprocessing.FromConfig(config),
            Images => OwnImagePreprocessing.FromConfig(config),
            None => Identity.Instance,
            _ => throw new ArgumentException($"test_preprocessing '{name}': expected {Traffic}, {Images} or {None}.", nameof(name)),
        };
    }

    /// <summary>
    /// <paramref name="config"/> with <c>test_preprocessing</c> recorded from the data set in its <c>data_dir</c>, as a
    /// training run starts: <see cref="Traffic"/> for the traffic-sign data set, <see cref="None"/> for Megapixel MNIST.
    /// Where no data set is there to tell, the config's own value stands, or else <see cref="DefaultFor"/>'s. A feature
    /// config is returned as it is: it has no images to prepare.
    /// </summary>
    /// <exception cref="ArgumentException">The config names a preprocessing other than its data set's.</exception>
    public static IpsConfig Record(IpsConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (!config.IsImage)
        {
            return config;
        }
        var found = OfDataSet(config);
        if (found is not null && config.TestPreprocessing is { } given && given != found)
        {
            throw new ArgumentException(
                $"config {Path.GetFileName(config.Source)}: test_preprocessing is {given}, but data_dir '{config.DataDir}' holds a data set " +
                $"whose test images are prepared with {found}; drop the key (training records it) or correct it.");
        }
        return config with { TestPreprocessing = found ?? config.TestPreprocessing ?? DefaultFor(config) };
    }

    /// <summary>
    /// The preprocessing of the image data set in <paramref name="config"/>'s <c>data_dir</c>, recognised as
    /// <see cref="DatasetCatalog.Open"/> recognises it: <see cref="Traffic"/> for the traffic-sign data set,
    /// <see cref="None"/> for Megapixel MNIST, <see cref="Images"/> for your own images; null when no image data set is there.
    /// </summary>
    public static string? OfDataSet(IpsConfig config) => DatasetCatalog.Recognise(config) switch
    {
        DatasetKind.TrafficSigns => Traffic,
        DatasetKind.OwnImages => Images,
        DatasetKind.MegapixelMnist => None,
        _ => null,
    };

    /// <summary>
    /// For an image config that does not record <c>test_preprocessing</c> (written before training recorded it): the
    /// preprocessing of the data set the config was made for, recognised by the config alone, never by files on this
    /// machine: <see cref="Traffic"/> when it has the traffic-sign geometry and classes (<see cref="TrafficPreprocessing.Fits"/>),
    /// else <see cref="None"/>.
    /// </summary>
    public static string DefaultFor(IpsConfig config) => TrafficPreprocessing.Fits(config) ? Traffic : None;

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
