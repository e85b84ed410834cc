using System.Text.Json;
using System.Text.Json.Serialization;
using Ips.Data.Mnist;

namespace Ips.Data.MegapixelMnist;

/// <summary>The <c>parameters.json</c> of a dataset directory: the options it was built with and its MNIST source.</summary>
public sealed record MegapixelMnistParameters
{
    /// <summary>File name inside the dataset directory.</summary>
    public const string FileName = "parameters.json";

    /// <summary>Format tag, so a reader can tell this layout from the official <c>.npy</c> one.</summary>
    [JsonPropertyName("format")] public string Format { get; init; } = "ips-megapixel-mnist-v1";

    /// <summary>Training images.</summary>
    [JsonPropertyName("n_train")] public int NTrain { get; init; }

    /// <summary>Test images.</summary>
    [JsonPropertyName("n_test")] public int NTest { get; init; }

    /// <summary>Canvas width.</summary>
    [JsonPropertyName("width")] public int Width { get; init; }

    /// <summary>Canvas height.</summary>
    [JsonPropertyName("height")] public int Height { get; init; }

    /// <summary>Whether canvases carry noise.</summary>
    [JsonPropertyName("noise")] public bool Noise { get; init; }

    /// <summary>Noise patterns per image.</summary>
    [JsonPropertyName("n_noise")] public int NNoise { get; init; }

    /// <summary>Dataset seed.</summary>
    [JsonPropertyName("seed")] public int Seed { get; init; }

    /// <summary>Directory (or description) of the MNIST files the digits came from.</summary>
    [JsonPropertyName("mnist_source")] public string MnistSource { get; init; } = "";

    /// <summary>File of the training split.</summary>
    [JsonPropertyName("train_file")] public string TrainFile { get; init; } = "train.bin";

    /// <summary>File of the test split.</summary>
    [JsonPropertyName("test_file")] public string TestFile { get; init; } = "test.bin";

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <summary>The parameters of a dataset generated with <paramref name="options"/> from <paramref name="mnistSource"/>.</summary>
    public static MegapixelMnistParameters For(MegapixelMnistOptions options, string mnistSource)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new MegapixelMnistParameters
        {
            NTrain = options.NTrain,
            NTest = options.NTest,
            Width = options.Width,
            Height = options.Height,
            Noise = options.Noise,
            NNoise = options.NNoise,
            Seed = options.Seed,
            MnistSource = mnistSource,
        };
    }

    /// <summary>Whether this dataset is what generating with <paramref name="options"/> would write (any MNIST source).</summary>
    public bool Describes(MegapixelMnistOptions options) => Equals(For(options, MnistSource));

    /// <summary>Reads <c>parameters.json</c> from <paramref name="directory"/>.</summary>
    /// <exception cref="FileNotFoundException">The directory has no parameters file.</exception>
    /// <exception cref="InvalidDataException">The file is not valid JSON of this shape.</exception>
    public static MegapixelMnistParameters Read(string directory)
    {
        var path = Path.Combine(directory, FileName);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException(
                $"{path} not found: {directory} is not a Megapixel MNIST dataset; create one with 'ips data megapixel-mnist {directory}'.", path);
        }
        try
        {
            return JsonSerializer.Deserialize<MegapixelMnistParameters>(File.ReadAllText(path), Json)
                ?? throw new InvalidDataException($"{path}: empty parameters file.");
        }
        catch (JsonException error)
        {
            throw new InvalidDataException($"{path}: invalid JSON ({error.Message}).", error);
        }
    }

    /// <summary>Writes this as <c>parameters.json</c> into <paramref name="directory"/>.</summary>
    public void Write(string directory) =>
        File.WriteAllText(Path.Combine(directory, FileName), JsonSerializer.Serialize(this, Json));
}

/// <summary>
/// Builds Megapixel MNIST (docs/design.md section 5; Katharopoulos and Fleuret 2019, as in the official <c>make_mnist.py</c>):
/// each blank canvas gets five non-overlapping MNIST digits, three of a random target class and two of other
/// classes, and <c>n_noise</c> line scribbles. Deterministic for a seed: it uses its own seeded
/// <see cref="Random"/>, never a global generator.
/// </summary>
public static class MegapixelMnistGenerator
{
    /// <summary>Placement attempts before a sample's digits are laid out again from scratch (only tiny canvases need it).</summary>
    private const int AttemptsPerDigit = 1000;

    /// <summary>
    /// Generates one split from the digits of <paramref name="mnist"/> (the MNIST train split for the training set, the
    /// test split for the test set, which <paramref name="train"/> names: it selects the seed <c>Seed + 1</c> or
    /// <c>Seed</c> as the official code does). <paramref name="progress"/> receives the number of samples done.
    /// </summary>
    public static MegapixelMnistSplit Generate(
        MnistSplit mnist, int count, bool train, MegapixelMnistOptions options,
        IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(mnist);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var (ofClass, notOfClass) = IndexByClass(mnist);

        var random = new Random(options.Seed + (train ? 1 : 0));
        var patterns = NoisePatterns.Create(random, options.NNoise);
        var samples = new MegapixelMnistSample[count];
        for (var i = 0; i < count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            samples[i] = NextSample(random, mnist, ofClass, notOfClass, options);
            progress?.Report(i + 1);
        }
        return new MegapixelMnistSplit(options.Width, options.Height, options.Noise, options.NNoise, patterns, samples);
    }

    /// <summary>
    /// Writes a whole dataset into <paramref name="outputDirectory"/>: <c>parameters.json</c>, <c>train.bin</c> and
    /// <c>test.bin</c>. <paramref name="progress"/> receives the samples done over both splits (train first).
    /// </summary>
    public static MegapixelMnistParameters WriteDataset(
        string outputDirectory, MnistSplit mnistTrain, MnistSplit mnistTest, MegapixelMnistOptions options,
        IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Directory.CreateDirectory(outputDirectory);
        var parameters = MegapixelMnistParameters.For(options, mnistTrain.Source);
        var training = Generate(mnistTrain, options.NTrain, train: true, options, progress, cancellationToken);
        training.Write(Path.Combine(outputDirectory, parameters.TrainFile));
        IProgress<int>? testProgress = progress is null ? null : new OffsetProgress(progress, options.NTrain);
        var test = Generate(mnistTest, options.NTest, train: false, options, testProgress, cancellationToken);
        test.Write(Path.Combine(outputDirectory, parameters.TestFile));
        parameters.Write(outputDirectory);
        return parameters;
    }

    private static MegapixelMnistSample NextSample(
        Random random, MnistSplit mnist, int[][] ofClass, int[][] notOfClass, MegapixelMnistOptions options)
    {
        var target = (byte)(random.NextDouble() * 10);
        var indices = new int[MegapixelMnistSample.DigitCount];
        for (var d = 0; d < 3; d++)
        {
            indices[d] = ofClass[target][random.Next(ofClass[target].Length)];
        }
        for (var d = 3; d < indices.Length; d++)
        {
            indices[d] = notOfClass[target][random.Next(notOfClass[target].Length)];
        }

        var positions = PlaceDigits(random, options.Width, options.Height);
        var digits = new DigitPlacement[indices.Length];
        for (var d = 0; d < digits.Length; d++)
        {
            digits[d] = new DigitPlacement(
                positions[d].Row, positions[d].Col, indices[d], mnist.Labels[indices[d]], mnist.Image(indices[d]).ToArray());
        }

        // Noise is drawn even when it is off, so that the digits of a seed do not depend on the noise switch.
        var noise = new NoisePlacement[options.NNoise];
        for (var k = 0; k < noise.Length; k++)
        {
            var row = (int)((random.NextDouble() * (options.Height - (2 * MnistSplit.Side))) + MnistSplit.Side);
            var col = (int)((random.NextDouble() * (options.Width - (2 * MnistSplit.Side))) + MnistSplit.Side);
            noise[k] = new NoisePlacement(row, col, (int)(random.NextDouble() * options.NNoise));
        }
        return new MegapixelMnistSample(target, digits, options.Noise ? noise : []);
    }

    /// <summary>
    /// Five top-left corners, uniform over the canvas and rounded, rejecting any whose 28x28 square would overlap
    /// an earlier one (the official rule: overlap when both row and column differ by less than 28).
    /// </summary>
    private static (int Row, int Col)[] PlaceDigits(Random random, int width, int height)
    {
        var positions = new (int Row, int Col)[MegapixelMnistSample.DigitCount];
        var placed = 0;
        var attempts = 0;
        while (placed < positions.Length)
        {
            var row = (int)Math.Round(random.NextDouble() * (height - MnistSplit.Side), MidpointRounding.ToEven);
            var col = (int)Math.Round(random.NextDouble() * (width - MnistSplit.Side), MidpointRounding.ToEven);
            if (!Overlaps(positions.AsSpan(0, placed), row, col))
            {
                positions[placed++] = (row, col);
                attempts = 0;
            }
            else if (++attempts == AttemptsPerDigit)
            {
                // Earlier digits can leave no room on a small canvas; start the layout over.
                placed = 0;
                attempts = 0;
            }
        }
        return positions;
    }

    internal static bool Overlaps(ReadOnlySpan<(int Row, int Col)> positions, int row, int col)
    {
        foreach (var (r, c) in positions)
        {
            if (Math.Abs(r - row) < MnistSplit.Side && Math.Abs(c - col) < MnistSplit.Side)
            {
                return true;
            }
        }
        return false;
    }

    private static (int[][] OfClass, int[][] NotOfClass) IndexByClass(MnistSplit mnist)
    {
        var ofClass = new int[10][];
        var notOfClass = new int[10][];
        for (var k = 0; k < 10; k++)
        {
            var label = (byte)k;
            ofClass[k] = Enumerable.Range(0, mnist.Count).Where(i => mnist.Labels[i] == label).ToArray();
            notOfClass[k] = Enumerable.Range(0, mnist.Count).Where(i => mnist.Labels[i] != label).ToArray();
            if (ofClass[k].Length == 0)
            {
                throw new ArgumentException($"MNIST split {mnist.Source} has no image of class {k}; every class 0..9 is needed.", nameof(mnist));
            }
        }
        return (ofClass, notOfClass);
    }

    /// <summary>Continues the training split's count through the test split, on the calling thread.</summary>
    private sealed class OffsetProgress(IProgress<int> inner, int offset) : IProgress<int>
    {
        public void Report(int value) => inner.Report(offset + value);
    }
}
