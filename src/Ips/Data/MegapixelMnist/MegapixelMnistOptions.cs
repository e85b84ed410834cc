using Ips.Configuration;

namespace Ips.Data.MegapixelMnist;

/// <summary>
/// How to build a Megapixel MNIST dataset; the defaults are those of the official <c>make_mnist.py</c> and the paper
/// (docs/design.md section 5).
/// </summary>
public sealed record MegapixelMnistOptions
{
    /// <summary>Smallest canvas side: room for five non-overlapping 28x28 digits and the 28-pixel noise margin.</summary>
    public const int MinSide = 84;

    /// <summary>Images in the training set (<c>--n_train</c>).</summary>
    public int NTrain { get; init; } = 5000;

    /// <summary>Images in the test set (<c>--n_test</c>).</summary>
    public int NTest { get; init; } = 1000;

    /// <summary>Canvas width in pixels (<c>--width</c>).</summary>
    public int Width { get; init; } = 1500;

    /// <summary>Canvas height in pixels (<c>--height</c>).</summary>
    public int Height { get; init; } = 1500;

    /// <summary>Draw the noise scribbles (<c>--no_noise</c> turns this off).</summary>
    public bool Noise { get; init; } = true;

    /// <summary>Noise patterns per image, and distinct patterns per split (<c>--n_noise</c>).</summary>
    public int NNoise { get; init; } = 50;

    /// <summary>Dataset seed (<c>--dataset_seed</c>); the training split uses <c>Seed + 1</c>, the test split <c>Seed</c>.</summary>
    public int Seed { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first option out of range.</summary>
    public void Validate()
    {
        if (NTrain < 0 || NTest < 0)
        {
            throw new ArgumentException($"n_train ({NTrain}) and n_test ({NTest}) must be >= 0.");
        }
        if (Width < MinSide || Height < MinSide)
        {
            throw new ArgumentException($"width ({Width}) and height ({Height}) must be >= {MinSide} to hold five non-overlapping 28x28 digits.");
        }
        if (NNoise < 0 || (Noise && NNoise == 0))
        {
            throw new ArgumentException($"n_noise ({NNoise}) must be > 0 when noise is on, and never negative.");
        }
        if (Seed == int.MaxValue)
        {
            throw new ArgumentException($"seed ({Seed}) must be < {int.MaxValue}: the training split uses seed + 1.");
        }
    }

    /// <summary>
    /// The side of the square canvases whose patch grid is the one <paramref name="config"/> describes: <c>sqrt(N)</c>
    /// patches a side, each <c>patch_stride</c> from the last (overlapping where the stride is smaller than the patch).
    /// </summary>
    /// <exception cref="ArgumentException">N is not a square number, or the patches or their stride are not square.</exception>
    public static int CanvasSideFor(IpsConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var grid = (int)Math.Round(Math.Sqrt(config.N ?? 0));
        if (grid < 1 || grid * grid != config.N || config.PatchSize is not [var size, var width] || size != width
            || config.PatchStride is not [var stride, var across] || stride != across)
        {
            throw new ArgumentException(
                $"config {config.Source}: square canvases need a square number of patches N (got {config.N}) with square patch_size and patch_stride.");
        }
        return ((grid - 1) * stride) + size;
    }
}
