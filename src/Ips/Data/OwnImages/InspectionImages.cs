using System.Globalization;
using Ips.Imaging;
using static TorchSharp.torch;

namespace Ips.Data.OwnImages;

/// <summary>
/// A generated inspection-like data set in the class-folder layout, for the example and the tests
/// (docs/own-data.md): large photos of a brushed, unevenly lit metal surface, each of its own size and orientation
/// (landscape or portrait, sides within 25 % of the given size); the photos of class <c>defect</c> hold one small dark
/// scratch at a random place, those of class <c>ok</c> none. Deterministic for a seed.
/// </summary>
public static class InspectionImages
{
    /// <summary>The class names, in the order a run records them.</summary>
    public static readonly IReadOnlyList<string> Classes = ["defect", "ok"];

    /// <summary>
    /// Writes <paramref name="perClass"/> training and <paramref name="testPerClass"/> test PNGs of each class under
    /// <paramref name="directory"/>: <c>train/defect/*.png</c>, <c>train/ok/*.png</c>, <c>test/...</c>.
    /// </summary>
    /// <param name="directory">The data set's folder (created).</param>
    /// <param name="perClass">Training images per class.</param>
    /// <param name="testPerClass">Test images per class.</param>
    /// <param name="size">The typical longer side in pixels; the shorter side is about 3/4 of it.</param>
    /// <param name="defectSize">The scratch's length in pixels (its width is a quarter of that, at least 3).</param>
    /// <param name="seed">Seed of every random choice.</param>
    public static void Write(string directory, int perClass, int testPerClass, int size, int defectSize, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(perClass, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(testPerClass);
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 32);
        ArgumentOutOfRangeException.ThrowIfLessThan(defectSize, 4);
        var random = new Random(seed);
        foreach (var (split, count) in new[] { ("train", perClass), ("test", testPerClass) })
        {
            foreach (var name in Classes)
            {
                var folder = Path.Combine(directory, split, name);
                Directory.CreateDirectory(folder);
                for (var i = 0; i < count; i++)
                {
                    using var image = Photo(random, size, name == "defect" ? defectSize : 0);
                    ImageFile.SaveRgb(image, Path.Combine(folder, string.Create(CultureInfo.InvariantCulture, $"{name}_{i:D3}.png")));
                }
            }
        }
    }

    // [3, H, W] in [0, 1]: grey metal, horizontal brushing, a lighting gradient, sensor noise, and a scratch when asked.
    private static Tensor Photo(Random random, int size, int defectSize)
    {
        using var scope = NewDisposeScope();
        var longSide = (int)(size * (0.75 + 0.5 * random.NextDouble()));
        var shortSide = (int)(longSide * (0.7 + 0.1 * random.NextDouble()));
        var (height, width) = random.Next(2) == 0 ? (shortSide, longSide) : (longSide, shortSide);
        using var generator = new Generator((ulong)random.Next());
        var brushing = rand([1, height, 1], generator: generator).mul(0.08); // [1, H, 1]: one streak per row
        var gradient = linspace(-1, 1, width).reshape(1, 1, width).mul(0.1 * (random.NextDouble() - 0.5)); // [1, 1, W]
        var noise = randn([1, height, width], generator: generator).mul(0.02);
        var surface = brushing.add(gradient).add(noise).add(0.55); // [1, H, W]
        var tint = tensor(new[] { 1.0f, 0.98f, 0.95f }).reshape(3, 1, 1);
        var image = surface.mul(tint).clamp(0, 1); // [3, H, W]
        if (defectSize > 0)
        {
            var thickness = Math.Max(3, defectSize / 4);
            var vertical = random.Next(2) == 0;
            var (h, w) = vertical ? (defectSize, thickness) : (thickness, defectSize);
            var y = random.Next(0, height - h);
            var x = random.Next(0, width - w);
            image[.., y..(y + h), x..(x + w)] = image[.., y..(y + h), x..(x + w)].mul(0.25);
        }
        return image.MoveToOuterDisposeScope();
    }
}
