using Ips.Data.Mnist;

namespace Ips.Data.MegapixelMnist;

/// <summary>
/// The noise of Megapixel MNIST, as the official generator makes it: each 28x28 pattern is a straight line from the
/// top-left corner at a random angle in [0, 72) degrees, united with another line of the set (shuffled, sometimes
/// mirrored), with a random intensity in [0.8, 1] per pixel.
/// </summary>
internal static class NoisePatterns
{
    private const int Side = MnistSplit.Side;

    /// <summary>Points sampled along each line, enough for a continuous stroke.</summary>
    private const int LinePoints = 56;

    /// <summary>Last coordinate reached by a line (rounds to 27).</summary>
    private const double Reach = 27.49;

    /// <summary>Probability of each of the two mirror draws.</summary>
    private const double FlipProbability = 0.33;

    /// <summary><paramref name="count"/> patterns, <c>[count, 28, 28]</c> uint8 as <c>(byte)(255 * intensity)</c>.</summary>
    public static byte[] Create(Random random, int count)
    {
        // A: one line per pattern, y = slope * x over x in [0, min(27.49, 27.49 / slope)] so it stays in the square.
        var lines = new bool[count][];
        for (var i = 0; i < count; i++)
        {
            var slope = Math.Tan(random.NextDouble() * Math.PI / 2.5);
            var end = slope > 0 ? Math.Min(Reach, Reach / slope) : Reach;
            var line = new bool[Side * Side];
            for (var k = 0; k < LinePoints; k++)
            {
                var x = k == LinePoints - 1 ? end : k * (end / (LinePoints - 1));
                var row = (int)Math.Round(x, MidpointRounding.ToEven);
                var col = Math.Min(Side - 1, (int)Math.Round(slope * x, MidpointRounding.ToEven));
                line[(row * Side) + col] = true;
            }
            lines[i] = line;
        }

        // B: the same lines in shuffled order, mirrored left-right for some. The official code draws two flip masks
        // but applies both along the column axis, so a pattern ends up mirrored when exactly one mask is set.
        var partner = Enumerable.Range(0, count).ToArray();
        random.Shuffle(partner);
        var flipX = Enumerable.Range(0, count).Select(_ => random.NextDouble() < FlipProbability).ToArray();
        var flipY = Enumerable.Range(0, count).Select(_ => random.NextDouble() < FlipProbability).ToArray();

        var patterns = new byte[count * Side * Side];
        for (var i = 0; i < count; i++)
        {
            var other = lines[partner[i]];
            var mirrored = flipX[i] ^ flipY[i];
            for (var r = 0; r < Side; r++)
            {
                for (var c = 0; c < Side; c++)
                {
                    var stroke = lines[i][(r * Side) + c] || other[(r * Side) + (mirrored ? Side - 1 - c : c)];
                    var intensity = (float)((random.NextDouble() * 0.2) + 0.8);
                    patterns[(i * Side * Side) + (r * Side) + c] = stroke ? (byte)(255f * intensity) : (byte)0;
                }
            }
        }
        return patterns;
    }
}
