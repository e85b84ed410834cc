using System.Globalization;
using Ips.Configuration;
using Ips.Encoders;
using static TorchSharp.torch;

namespace Ips.Data.Traffic;

/// <summary>
/// The traffic-sign images as the official pipeline prepares them: resize to the model's size (bilinear with
/// antialiasing, rounded to 8 bits as PIL's resize of an 8-bit photo is), in training colour jitter (0.1 for
/// brightness, contrast, saturation and hue, in random order) and a random translation of up to 100 px at 1200 x 1600
/// (1/16 of the width and 1/12 of the height; the uncovered border is black), then ImageNet mean/std normalisation.
/// </summary>
/// <param name="Height">Image height after resizing (1200 in the paper).</param>
/// <param name="Width">Image width after resizing (1600 in the paper).</param>
public sealed record TrafficPreprocessing(int Height, int Width) : IImagePreprocessing
{
    /// <summary>The paper's image size, height x width.</summary>
    public static readonly (int Height, int Width) PaperSize = (1200, 1600);

    private const double Jitter = 0.1;

    /// <summary>
    /// The preprocessing for <paramref name="config"/>: its images are the 3:4 (height:width) grid of <c>N</c> patches
    /// of its patch size and stride, so the paper's N 192 of 100 px gives 1200 x 1600, and a scaled-down config
    /// (e.g. N 48 of 16 px: 96 x 128) trains on proportionally smaller images with the same pipeline.
    /// </summary>
    /// <exception cref="ArgumentException">N, patch_size or patch_stride do not make such a grid.</exception>
    public static TrafficPreprocessing FromConfig(IpsConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var name = config.Source.Length > 0 ? Path.GetFileName(config.Source) : "(built in code)";
        if (config.PatchSize is not [var ph, var pw] || config.PatchStride is not [var sy, var sx] || config.N is not { } n
            || ph <= 0 || pw <= 0 || sy <= 0 || sx <= 0)
        {
            throw new ArgumentException($"config {name}: the traffic data set needs N, patch_size [h, w] and patch_stride [h, w], all positive.");
        }
        var k = GridScale(n) ?? throw new ArgumentException(
            $"config {name}: N ({n.ToString(CultureInfo.InvariantCulture)}) must be 12 k^2 (a 3:4 grid of 3k x 4k patches, " +
            "e.g. 192 as in the paper, 48, 108) for traffic-sign photos.");
        return new TrafficPreprocessing((3 * k - 1) * sy + ph, (4 * k - 1) * sx + pw);
    }

    /// <summary>
    /// True when <paramref name="config"/> is a traffic-sign model by everything the data set requires of it: RGB
    /// image patches in a 3:4 grid of N = 12 k^2 (<see cref="FromConfig"/>), every task a softmax over
    /// <see cref="TrafficSigns.Classes"/>. Megapixel MNIST (one channel, ten classes) never is. This is how a config
    /// that does not record its <c>test_preprocessing</c> is recognised without the data set at hand.
    /// </summary>
    public static bool Fits(IpsConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return config.IsImage && config.NChanIn == 3
            && config.PatchSize is [> 0, > 0] && config.PatchStride is [> 0, > 0] && config.N is { } n && GridScale(n) is not null
            && config.Tasks.Count > 0 && config.Tasks.All(task => task.IsSoftmax && task.NClass == TrafficSigns.Classes.Count);
    }

    // rows : cols = 3 : 4 and rows * cols = N, so N = 12 k^2 with rows 3k and cols 4k: k, or null for another N.
    private static int? GridScale(int n)
    {
        var k = (int)Math.Round(Math.Sqrt(n / 12.0));
        return k >= 1 && 12 * k * k == n ? k : null;
    }

    /// <inheritdoc />
    public PreparedImage Prepare(Tensor photo)
    {
        using var scope = NewDisposeScope();
        var picture = Resize(photo);
        var input = ImageNetNormalisation.Apply(picture);
        return new PreparedImage(input.MoveToOuterDisposeScope(), picture.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// The training or test input for a decoded photo <c>[3, h, w]</c> in <c>[0, 1]</c>: resized, augmented when
    /// <paramref name="random"/> is given, normalised: <c>[3, Height, Width]</c>.
    /// </summary>
    public Tensor Transform(Tensor photo, Random? random)
    {
        using var scope = NewDisposeScope();
        var image = Resize(photo);
        if (random is not null)
        {
            image = Translate(ImageAugmentation.ColorJitter(image, Jitter, random), random);
        }
        return ImageNetNormalisation.Apply(image).MoveToOuterDisposeScope();
    }

    /// <summary>Bilinear antialiased resize to <c>[3, Height, Width]</c>, rounded to 8-bit levels.</summary>
    public Tensor Resize(Tensor photo)
    {
        ArgumentNullException.ThrowIfNull(photo);
        using var scope = NewDisposeScope();
        var resized = nn.functional.interpolate(
            photo.unsqueeze(0), size: [Height, Width], mode: InterpolationMode.Bilinear, align_corners: false, antialias: true)[0]; // [3, H, W]
        return resized.clamp(0, 1).mul(255).round().div(255).MoveToOuterDisposeScope();
    }

    /// <summary>Shifts the image by whole pixels, up to 1/16 of its width and 1/12 of its height (100 px at 1200 x 1600); the rest is black.</summary>
    internal static Tensor Translate(Tensor image, Random random) =>
        ImageAugmentation.Translate(image, image.shape[2] * 100.0 / PaperSize.Width, image.shape[1] * 100.0 / PaperSize.Height, random);
}
