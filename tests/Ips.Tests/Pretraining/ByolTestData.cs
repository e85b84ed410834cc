using Ips.Imaging;
using Ips.Pretraining;
using static TorchSharp.torch;

namespace Ips.Tests.Pretraining;

/// <summary>Tiny BYOL configs and generated tiles for the pre-training tests.</summary>
internal static class ByolTestData
{
    /// <summary>resnet18, 16-pixel views, MLPs of 64 -> 32, batch 16: small enough for a CPU test.</summary>
    public static ByolConfig TinyConfig(int epochs = 1, int batch = 16) => ByolConfigLoader.Parse(
        "", "(test)",
        [
            "backbone=resnet18", $"epochs={epochs}", $"batch_size={batch}", "image_size=16", "blur_kernel=7",
            "projector_hidden=64", "projection_dim=32", "predictor_hidden=64", "n_worker=2", "warmup_epochs=0",
        ]);

    /// <summary>
    /// Writes <paramref name="count"/> RGB PNG tiles of <paramref name="size"/> pixels: four kinds of texture
    /// (horizontal, vertical, diagonal stripes, checkerboard) at random phase, frequency and tint, plus noise.
    /// </summary>
    public static void WriteTiles(string directory, int count, int size = 40, int seed = 1)
    {
        Directory.CreateDirectory(directory);
        var random = new Random(seed);
        using var scope = NewDisposeScope();
        var ramp = arange(size, dtype: ScalarType.Float32);
        var y = ramp.view(-1, 1).expand(size, size);
        var x = ramp.view(1, -1).expand(size, size);
        for (var i = 0; i < count; i++)
        {
            using var tileScope = NewDisposeScope();
            var frequency = 0.3 + 0.5 * random.NextDouble();
            var phase = 2 * Math.PI * random.NextDouble();
            var pattern = (i % 4) switch
            {
                0 => (y * frequency + phase).sin(),
                1 => (x * frequency + phase).sin(),
                2 => ((x + y) * frequency * 0.7 + phase).sin(),
                _ => (x * frequency + phase).sin() * (y * frequency + phase).sin(),
            }; // [S, S] in [-1, 1]
            var tint = tensor(new[] { (float)random.NextDouble(), (float)random.NextDouble(), (float)random.NextDouble() }).view(3, 1, 1);
            using var generator = new Generator((ulong)(seed * 7919 + i));
            var noise = 0.05 * randn([3, size, size], generator: generator);
            var tile = (0.5 + 0.35 * pattern.unsqueeze(0) * (0.5 + tint) + noise).clamp(0, 1);
            ImageFile.SaveRgb(tile, Path.Combine(directory, $"tile_{i:D4}.png"));
        }
    }
}
