namespace Ips.Data.Mnist;

/// <summary>
/// One split of MNIST (train or t10k): <see cref="Count"/> 28x28 uint8 images stored row-major one after the other,
/// and their labels 0..9.
/// </summary>
public sealed class MnistSplit
{
    /// <summary>Side of an MNIST image in pixels.</summary>
    public const int Side = 28;

    /// <summary>Pixels per image (28 x 28).</summary>
    public const int Pixels = Side * Side;

    /// <summary>Wraps <paramref name="images"/> (<c>[n, 28, 28]</c> flattened) and <paramref name="labels"/> (<c>[n]</c>).</summary>
    /// <exception cref="ArgumentException">The lengths disagree or a label is not a digit.</exception>
    public MnistSplit(byte[] images, byte[] labels, string source = "")
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(labels);
        if (images.Length != labels.Length * Pixels)
        {
            throw new ArgumentException(
                $"MNIST split {source}: {images.Length} image bytes do not hold {labels.Length} images of 28x28 ({labels.Length * Pixels} bytes).",
                nameof(images));
        }
        for (var i = 0; i < labels.Length; i++)
        {
            if (labels[i] > 9)
            {
                throw new ArgumentException($"MNIST split {source}: label {i} is {labels[i]}, expected 0..9.", nameof(labels));
            }
        }
        Images = images;
        Labels = labels;
        Source = source;
    }

    /// <summary>All images, <c>[n, 28, 28]</c> flattened row-major.</summary>
    public byte[] Images { get; }

    /// <summary>The class of each image, <c>[n]</c>.</summary>
    public byte[] Labels { get; }

    /// <summary>Where the split was read from (directory or description), for messages and provenance.</summary>
    public string Source { get; }

    /// <summary>Number of images.</summary>
    public int Count => Labels.Length;

    /// <summary>The 784 pixels of image <paramref name="index"/>, row-major.</summary>
    public ReadOnlySpan<byte> Image(int index) => Images.AsSpan(index * Pixels, Pixels);
}
