using Ips.Configuration;
using Ips.Data.Traffic;
using Ips.Encoders;
using static TorchSharp.torch;

namespace Ips.Data.OwnImages;

/// <summary>
/// How your own images become the model's input (docs/own-data.md): resized to <c>image_size</c> when the config
/// sets it (the traffic set's antialiased resize), augmented in training (<c>aug_*</c> keys,
/// <see cref="ImageAugmentation"/>), normalised (<c>normalize</c>), then padded with zeros at the bottom and right
/// so that the patch grid covers every pixel: each image gets its own grid, and every patch holds some of the image.
/// </summary>
public sealed class OwnImagePreprocessing : IImagePreprocessing
{
    private readonly IpsConfig _config;

    private OwnImagePreprocessing(IpsConfig config)
    {
        _config = config;
    }

    /// <summary>The preprocessing of <paramref name="config"/>, an image config with patch_size and patch_stride.</summary>
    /// <exception cref="ArgumentException">The config lacks patch_size or patch_stride, or its stride is larger than its patch.</exception>
    public static OwnImagePreprocessing FromConfig(IpsConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.PatchSize is not [> 0, > 0] size || config.PatchStride is not [> 0, > 0] stride)
        {
            throw new ArgumentException($"config {Path.GetFileName(config.Source)}: your own images need patch_size [h, w] and patch_stride [h, w], all positive.");
        }
        if (stride[0] > size[0] || stride[1] > size[1])
        {
            throw new ArgumentException(
                $"config {Path.GetFileName(config.Source)}: patch_stride [{stride[0]}, {stride[1]}] is larger than patch_size [{size[0]}, {size[1]}], so pixels between patches would never be seen; use a stride <= the patch size.");
        }
        return new OwnImagePreprocessing(config);
    }

    /// <summary>
    /// The padded size of an image of <paramref name="height"/> x <paramref name="width"/>: per axis, windows start
    /// every stride until one reaches the last pixel (at least one window), so the last row and column of patches
    /// are the only ones padded and no patch is padding alone.
    /// </summary>
    public (int Height, int Width) PaddedSize(int height, int width) =>
        (Covered(height, _config.PatchSize![0], _config.PatchStride![0]), Covered(width, _config.PatchSize[1], _config.PatchStride[1]));

    /// <summary>The number of patches of an image of <paramref name="height"/> x <paramref name="width"/> after resizing and padding.</summary>
    public int PatchCount(int height, int width)
    {
        var (h, w) = ResizedSize(height, width);
        var (ph, pw) = PaddedSize(h, w);
        return ((ph - _config.PatchSize![0]) / _config.PatchStride![0] + 1) * ((pw - _config.PatchSize[1]) / _config.PatchStride[1] + 1);
    }

    /// <summary>The size an image of <paramref name="height"/> x <paramref name="width"/> has after the resize: <c>image_size</c>, or its own.</summary>
    public (int Height, int Width) ResizedSize(int height, int width) =>
        _config.ImageSize is [var h, var w] ? (h, w) : (height, width);

    /// <summary>
    /// The training or test input for a decoded image <c>[C, h, w]</c> in <c>[0, 1]</c>: resized, augmented when
    /// <paramref name="random"/> is given, normalised, padded: <c>[C, H, W]</c> with <c>H, W</c> from <see cref="PaddedSize"/>.
    /// </summary>
    public Tensor Transform(Tensor photo, Random? random)
    {
        ArgumentNullException.ThrowIfNull(photo);
        using var scope = NewDisposeScope();
        var image = Resize(photo);
        if (random is not null)
        {
            image = Augment(image, random);
        }
        return Pad(Normalise(image)).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public PreparedImage Prepare(Tensor photo)
    {
        ArgumentNullException.ThrowIfNull(photo);
        using var scope = NewDisposeScope();
        var resized = Resize(photo);
        var input = Pad(Normalise(resized));
        var picture = Pad(resized);
        return new PreparedImage(input.MoveToOuterDisposeScope(), picture.MoveToOuterDisposeScope());
    }

    private Tensor Resize(Tensor photo) => _config.ImageSize is [var h, var w] && (photo.shape[1] != h || photo.shape[2] != w)
        ? new TrafficPreprocessing(h, w).Resize(photo)
        : photo.alias();

    private Tensor Augment(Tensor image, Random random)
    {
        if (_config.AugFlip)
        {
            image = ImageAugmentation.Flip(image, random);
        }
        if (_config.AugRot90)
        {
            image = ImageAugmentation.Rotate90(image, random);
        }
        if (_config.AugColorJitter > 0)
        {
            image = ImageAugmentation.ColorJitter(image, _config.AugColorJitter, random);
        }
        if (_config.AugTranslate > 0)
        {
            image = ImageAugmentation.Translate(image, image.shape[2] * _config.AugTranslate, image.shape[1] * _config.AugTranslate, random);
        }
        return image;
    }

    private Tensor Normalise(Tensor image) => _config.Normalize == "imagenet"
        ? (image.shape[0] == 3 ? ImageNetNormalisation.Apply(image) : image.sub(0.449).div(0.226)) // grey: the mean of the three channels' statistics
        : image.alias();

    private Tensor Pad(Tensor image)
    {
        int height = (int)image.shape[1], width = (int)image.shape[2];
        var (h, w) = PaddedSize(height, width);
        return h == height && w == width ? image.alias() : nn.functional.pad(image, [0, w - width, 0, h - height]);
    }

    private static int Covered(int length, int patch, int stride) =>
        length <= patch ? patch : patch + (length - patch + stride - 1) / stride * stride;
}
