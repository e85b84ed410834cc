using Ips.Data.MegapixelMnist;
using Ips.Data.Mnist;

namespace Ips.Tests.Data;

public sealed class MegapixelMnistGeneratorTests
{
    private static readonly MegapixelMnistOptions Small = new() { Width = 200, Height = 160, NNoise = 20, Seed = 3 };

    /// <summary>The real MNIST training split when the cache holds it (a more faithful check), else synthetic digits.</summary>
    private static MnistSplit Digits() => MnistTestData.RealOrNull(train: true) ?? MnistTestData.Synthetic(500);

    [Fact]
    public void Every_sample_has_five_non_overlapping_digits_three_of_the_target_and_consistent_labels()
    {
        var mnist = Digits();
        var split = MegapixelMnistGenerator.Generate(mnist, 300, train: true, Small);

        Assert.Equal(300, split.Count);
        foreach (var sample in split.Samples)
        {
            Assert.Equal(5, sample.Digits.Count);
            Assert.Equal(3, sample.Digits.Count(d => d.Label == sample.Target));
            Assert.All(sample.Digits.Take(3), d => Assert.Equal(sample.Target, d.Label));
            for (var a = 0; a < 5; a++)
            {
                var digit = sample.Digits[a];
                Assert.InRange(digit.Row, 0, Small.Height - 28);
                Assert.InRange(digit.Col, 0, Small.Width - 28);
                Assert.Equal(mnist.Labels[digit.MnistIndex], digit.Label);
                Assert.Equal(mnist.Image(digit.MnistIndex).ToArray(), digit.Pixels);
                for (var b = a + 1; b < 5; b++)
                {
                    var other = sample.Digits[b];
                    var overlap = Math.Abs(digit.Row - other.Row) < 28 && Math.Abs(digit.Col - other.Col) < 28;
                    Assert.False(overlap, $"digits at ({digit.Row},{digit.Col}) and ({other.Row},{other.Col}) overlap");
                }
            }

            Assert.Equal(sample.Target, sample.Majority);
            Assert.Equal(sample.Digits.Max(d => d.Label), sample.Max);
            var topRow = sample.Digits.Min(d => d.Row);
            Assert.Equal(sample.Digits.First(d => d.Row == topRow).Label, sample.Top);
            var present = sample.Digits.Select(d => (int)d.Label).ToHashSet();
            Assert.Equal(Enumerable.Range(0, 10).Select(k => present.Contains(k) ? 1f : 0f), sample.Multi);

            Assert.Equal(Small.NNoise, sample.Noise.Count);
            Assert.All(sample.Noise, n =>
            {
                Assert.InRange(n.Row, 28, Small.Height - 29);
                Assert.InRange(n.Col, 28, Small.Width - 29);
                Assert.InRange(n.Pattern, 0, Small.NNoise - 1);
            });
        }

        // The draws are random, not degenerate: every class is a target, and the top digit is not always the first.
        Assert.Equal(10, split.Samples.Select(s => s.Target).Distinct().Count());
        Assert.Contains(split.Samples, s => s.Top != s.Digits[0].Label);
        Assert.Contains(split.Samples, s => s.Max != s.Target);
    }

    [Fact]
    public void The_same_seed_gives_identical_data_and_another_seed_different_data()
    {
        using var dir = new TempDir();
        var mnist = MnistTestData.Synthetic(300);
        string Write(string name, MegapixelMnistOptions options, bool train)
        {
            var path = Path.Combine(dir.Path, name);
            MegapixelMnistGenerator.Generate(mnist, 40, train, options).Write(path);
            return path;
        }

        var first = File.ReadAllBytes(Write("a", Small, train: true));
        var again = File.ReadAllBytes(Write("b", Small, train: true));
        var otherSeed = File.ReadAllBytes(Write("c", Small with { Seed = 4 }, train: true));
        var testSplit = File.ReadAllBytes(Write("d", Small, train: false));
        // The training split of seed s uses s + 1, the test split s (official convention).
        var testOfNextSeed = File.ReadAllBytes(Write("e", Small with { Seed = 2 }, train: true));

        Assert.Equal(first, again);
        Assert.NotEqual(first, otherSeed);
        Assert.NotEqual(first, testSplit);
        Assert.Equal(testSplit, testOfNextSeed);
    }

    [Fact]
    public void Without_noise_the_digits_are_those_of_the_noisy_set_and_no_noise_is_placed()
    {
        var mnist = MnistTestData.Synthetic(300);
        var noisy = MegapixelMnistGenerator.Generate(mnist, 20, train: true, Small);
        var clean = MegapixelMnistGenerator.Generate(mnist, 20, train: true, Small with { Noise = false });

        Assert.All(clean.Samples, s => Assert.Empty(s.Noise));
        Assert.Equal(
            noisy.Samples.SelectMany(s => s.Digits.Select(d => (d.Row, d.Col, d.MnistIndex))),
            clean.Samples.SelectMany(s => s.Digits.Select(d => (d.Row, d.Col, d.MnistIndex))));
    }

    [Fact]
    public void Rendering_pastes_the_stored_digits_at_their_positions_over_the_noise()
    {
        var mnist = Digits();
        var options = Small with { NNoise = 50 };
        var split = MegapixelMnistGenerator.Generate(mnist, 10, train: true, options);
        var clean = MegapixelMnistGenerator.Generate(mnist, 10, train: true, options with { Noise = false });
        var canvas = new float[options.Width * options.Height];

        for (var i = 0; i < split.Count; i++)
        {
            clean.Render(i, canvas);
            var digitPixels = 0;
            foreach (var digit in clean.Samples[i].Digits)
            {
                AssertSquare(canvas, options.Width, digit);
                digitPixels += digit.Pixels.Count(p => p > 0);
            }
            // Without noise, the only ink on the canvas is the digits'.
            Assert.Equal(digitPixels, canvas.Count(v => v > 0));

            split.Render(i, canvas);
            foreach (var digit in split.Samples[i].Digits)
            {
                AssertSquare(canvas, options.Width, digit);
            }
            Assert.True(canvas.Count(v => v > 0) > digitPixels, "noise adds ink");
            Assert.All(canvas, v => Assert.InRange(v, 0f, 1f));
        }

        using var tensor = split.Render(0);
        // The tensor shares the rendered array's memory; a collection must not move or free it.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        Assert.Equal(new long[] { 1, options.Height, options.Width }, tensor.shape);
        Assert.Equal(TorchSharp.torch.ScalarType.Float32, tensor.dtype);
        split.Render(0, canvas);
        Assert.Equal(canvas, tensor.data<float>().ToArray());
    }

    private static void AssertSquare(float[] canvas, int width, DigitPlacement digit)
    {
        for (var r = 0; r < 28; r++)
        {
            for (var c = 0; c < 28; c++)
            {
                Assert.Equal(digit.Pixels[(r * 28) + c] / 255f, canvas[((digit.Row + r) * width) + digit.Col + c]);
            }
        }
    }

    [Fact]
    public void Noise_patterns_are_lines_from_the_corner_with_intensity_between_0_8_and_1()
    {
        var patterns = NoisePatterns.Create(new Random(5), 200);

        for (var i = 0; i < 200; i++)
        {
            var pattern = patterns.AsSpan(i * 784, 784);
            Assert.True(pattern[0] > 0, $"pattern {i}: its own line starts in the top-left corner");
            Assert.True(pattern.ToArray().Count(p => p > 0) >= 28, $"pattern {i}: a line crosses the whole square");
            foreach (var p in pattern)
            {
                Assert.True(p == 0 || p >= 203, $"pattern {i}: stroke intensity {p} below 0.8 x 255");
            }
        }
        // Some partner lines are mirrored, so some patterns have ink in the top-right corner column.
        Assert.Contains(Enumerable.Range(0, 200), i => patterns[(i * 784) + 27] > 0);
    }

    [Fact]
    public void The_smallest_canvas_still_gets_five_digits_and_too_small_a_canvas_is_refused()
    {
        var mnist = MnistTestData.Synthetic(100);
        var tiny = Small with { Width = MegapixelMnistOptions.MinSide, Height = MegapixelMnistOptions.MinSide };
        var split = MegapixelMnistGenerator.Generate(mnist, 50, train: true, tiny);
        Assert.All(split.Samples, s => Assert.Equal(5, s.Digits.Count));

        var error = Assert.Throws<ArgumentException>(() => MegapixelMnistGenerator.Generate(mnist, 1, train: true, Small with { Width = 60 }));
        Assert.Contains("width (60)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Digits_missing_a_class_are_refused()
    {
        var eightClasses = new MnistSplit(new byte[8 * 784], [0, 1, 2, 3, 4, 5, 6, 7], "eight");
        var error = Assert.Throws<ArgumentException>(() => MegapixelMnistGenerator.Generate(eightClasses, 1, train: true, Small));
        Assert.Contains("no image of class 8", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_split_file_round_trips_and_a_truncated_one_is_refused()
    {
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, "train.bin");
        var split = MegapixelMnistGenerator.Generate(MnistTestData.Synthetic(300), 30, train: true, Small);
        split.Write(path);

        var read = MegapixelMnistSplit.Read(path);
        Assert.Equal(split.NoisePatterns, read.NoisePatterns);
        var expected = new float[Small.Width * Small.Height];
        var actual = new float[expected.Length];
        for (var i = 0; i < split.Count; i++)
        {
            Assert.Equal(split.Samples[i].Target, read.Samples[i].Target);
            split.Render(i, expected);
            read.Render(i, actual);
            Assert.Equal(expected, actual);
        }

        File.WriteAllBytes(path, File.ReadAllBytes(path)[..^100]);
        var error = Assert.Throws<InvalidDataException>(() => MegapixelMnistSplit.Read(path));
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains("truncated", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Progress_counts_every_sample_of_both_splits()
    {
        using var dir = new TempDir();
        var seen = new List<int>();
        var options = Small with { NTrain = 7, NTest = 4 };
        var parameters = MegapixelMnistGenerator.WriteDataset(
            dir.Path, MnistTestData.Synthetic(100), MnistTestData.Synthetic(50), options, new ListProgress(seen));

        Assert.Equal(Enumerable.Range(1, 11), seen);
        Assert.Equal(options.Width, MegapixelMnistParameters.Read(dir.Path).Width);
        Assert.Equal("synthetic(100)", parameters.MnistSource);
        Assert.Equal(4, MegapixelMnistSplit.Read(Path.Combine(dir.Path, "test.bin")).Count);
    }

    [Fact]
    public void Written_parameters_describe_their_options_and_no_others()
    {
        using var dir = new TempDir();
        var options = Small with { NTrain = 3, NTest = 2 };
        MegapixelMnistGenerator.WriteDataset(dir.Path, MnistTestData.Synthetic(100), MnistTestData.Synthetic(50), options);

        var written = MegapixelMnistParameters.Read(dir.Path);
        Assert.True(written.Describes(options));
        Assert.False(written.Describes(options with { NNoise = options.NNoise + 1 }));
        Assert.False(written.Describes(options with { Seed = options.Seed + 1 }));
        Assert.False(written.Describes(options with { Width = options.Width + 50 }));
    }

    private sealed class ListProgress(List<int> seen) : IProgress<int>
    {
        public void Report(int value) => seen.Add(value);
    }
}
