using System.Runtime.InteropServices;
using System.Text;
using Ips.Data.Mnist;
using TorchSharp;
using static TorchSharp.torch;

namespace Ips.Data.MegapixelMnist;

/// <summary>A digit pasted on the canvas: its top-left corner, the MNIST image it came from and that image's pixels.</summary>
/// <param name="Row">Top row on the canvas.</param>
/// <param name="Col">Left column on the canvas.</param>
/// <param name="MnistIndex">Index of the image in its MNIST split (provenance).</param>
/// <param name="Label">The digit's class.</param>
/// <param name="Pixels">The 28x28 uint8 pixels, row-major.</param>
public sealed record DigitPlacement(int Row, int Col, int MnistIndex, byte Label, byte[] Pixels);

/// <summary>A noise scribble pasted on the canvas: its top-left corner and which of the split's patterns it is.</summary>
/// <param name="Row">Top row on the canvas.</param>
/// <param name="Col">Left column on the canvas.</param>
/// <param name="Pattern">Index into <see cref="MegapixelMnistSplit.NoisePatterns"/>.</param>
public readonly record struct NoisePlacement(int Row, int Col, int Pattern);

/// <summary>
/// One Megapixel MNIST image as the objects placed on its blank canvas, and its four task labels
/// (<c>majority</c>, <c>max</c>, <c>top</c>, <c>multi</c>).
/// </summary>
public sealed class MegapixelMnistSample
{
    /// <summary>Number of digits on every canvas: three of the target class and two of other classes.</summary>
    public const int DigitCount = 5;

    /// <summary>Creates a sample from its placed objects; <paramref name="target"/> is the class drawn three times.</summary>
    public MegapixelMnistSample(byte target, IReadOnlyList<DigitPlacement> digits, IReadOnlyList<NoisePlacement> noise)
    {
        Target = target;
        Digits = digits;
        Noise = noise;
    }

    /// <summary>The class drawn three times: the <c>majority</c> label.</summary>
    public byte Target { get; }

    /// <summary>The five digits: first the three of the target class, then the two others.</summary>
    public IReadOnlyList<DigitPlacement> Digits { get; }

    /// <summary>The noise scribbles, pasted before the digits in this order.</summary>
    public IReadOnlyList<NoisePlacement> Noise { get; }

    /// <summary><c>majority</c> label: the target class.</summary>
    public int Majority => Target;

    /// <summary><c>max</c> label: the largest of the five digits.</summary>
    public int Max => Digits.Max(d => d.Label);

    /// <summary><c>top</c> label: the digit whose top row is smallest (the first such digit on ties, as numpy's argmin).</summary>
    public int Top
    {
        get
        {
            var top = Digits[0];
            foreach (var digit in Digits)
            {
                if (digit.Row < top.Row)
                {
                    top = digit;
                }
            }
            return top.Label;
        }
    }

    /// <summary><c>multi</c> label: 1 for each class present among the five digits, else 0.</summary>
    public float[] Multi
    {
        get
        {
            var multi = new float[10];
            foreach (var digit in Digits)
            {
                multi[digit.Label] = 1f;
            }
            return multi;
        }
    }
}

/// <summary>
/// One split (train or test) of a Megapixel MNIST dataset, stored compactly: the canvases are almost blank, so
/// only the placed objects are kept and a canvas is re-rendered exactly on demand. Also reads and writes the
/// split's binary file.
/// </summary>
public sealed class MegapixelMnistSplit
{
    private static readonly byte[] Magic = Encoding.ASCII.GetBytes("IPSMPMN\0");
    private const int FormatVersion = 1;

    /// <summary>Creates a split; <paramref name="noisePatterns"/> holds <c>[n_noise, 28, 28]</c> uint8 intensities.</summary>
    public MegapixelMnistSplit(int width, int height, bool noise, int nNoise, byte[] noisePatterns, IReadOnlyList<MegapixelMnistSample> samples)
    {
        Width = width;
        Height = height;
        Noise = noise;
        NNoise = nNoise;
        NoisePatterns = noisePatterns;
        Samples = samples;
    }

    /// <summary>Canvas width.</summary>
    public int Width { get; }

    /// <summary>Canvas height.</summary>
    public int Height { get; }

    /// <summary>Whether canvases carry noise.</summary>
    public bool Noise { get; }

    /// <summary>Number of distinct noise patterns, and of noise placements per image when <see cref="Noise"/> is on.</summary>
    public int NNoise { get; }

    /// <summary>The split's noise patterns, <c>[n_noise, 28, 28]</c> uint8 intensities (255 x [0.8, 1] on the strokes).</summary>
    public byte[] NoisePatterns { get; }

    /// <summary>The images.</summary>
    public IReadOnlyList<MegapixelMnistSample> Samples { get; }

    /// <summary>Number of images.</summary>
    public int Count => Samples.Count;

    /// <summary>
    /// Renders image <paramref name="index"/> into <paramref name="canvas"/> (<c>[H, W]</c> row-major, values in [0, 1]).
    /// As in the official generator, every object is pasted as a whole 28x28 square (its zeros too): first the
    /// noise in order, then the digits, so a digit hides the noise beneath it.
    /// </summary>
    public void Render(int index, Span<float> canvas)
    {
        if (canvas.Length != Width * Height)
        {
            throw new ArgumentException($"canvas holds {canvas.Length} pixels, expected {Height}x{Width}.", nameof(canvas));
        }
        canvas.Clear();
        var sample = Samples[index];
        foreach (var noise in sample.Noise)
        {
            Paste(canvas, noise.Row, noise.Col, NoisePatterns.AsSpan(noise.Pattern * MnistSplit.Pixels, MnistSplit.Pixels));
        }
        foreach (var digit in sample.Digits)
        {
            Paste(canvas, digit.Row, digit.Col, digit.Pixels);
        }
    }

    /// <summary>Renders image <paramref name="index"/> as a float32 tensor <c>[1, H, W]</c> in [0, 1] on the CPU.</summary>
    public Tensor Render(int index)
    {
        var pixels = new float[1, Height, Width];
        Render(index, MemoryMarshal.CreateSpan(ref pixels[0, 0, 0], pixels.Length));
        // The tensor wraps the array rather than copying it: a fresh 9 MB copy per 1500x1500 image costs more than rendering.
        return torch.from_array(pixels);
    }

    private void Paste(Span<float> canvas, int row, int col, ReadOnlySpan<byte> square)
    {
        for (var r = 0; r < MnistSplit.Side; r++)
        {
            var line = canvas.Slice(((row + r) * Width) + col, MnistSplit.Side);
            var source = square.Slice(r * MnistSplit.Side, MnistSplit.Side);
            for (var c = 0; c < MnistSplit.Side; c++)
            {
                line[c] = source[c] / 255f;
            }
        }
    }

    /// <summary>Writes the split to <paramref name="path"/> (via a temporary file, so a reader never sees half a file).</summary>
    public void Write(string path)
    {
        var temporary = path + ".tmp";
        using (var stream = new BufferedStream(File.Create(temporary), 1 << 20))
        using (var writer = new BinaryWriter(stream))
        {
            writer.Write(Magic);
            writer.Write(FormatVersion);
            writer.Write(Width);
            writer.Write(Height);
            writer.Write(Noise);
            writer.Write(NNoise);
            writer.Write(Count);
            writer.Write(NoisePatterns);
            foreach (var sample in Samples)
            {
                writer.Write(sample.Target);
                foreach (var digit in sample.Digits)
                {
                    writer.Write(digit.Row);
                    writer.Write(digit.Col);
                    writer.Write(digit.MnistIndex);
                    writer.Write(digit.Label);
                    writer.Write(digit.Pixels);
                }
                writer.Write(sample.Noise.Count);
                foreach (var noise in sample.Noise)
                {
                    writer.Write(noise.Row);
                    writer.Write(noise.Col);
                    writer.Write(noise.Pattern);
                }
            }
        }
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>Reads a split written by <see cref="Write"/>, checking every object lies on the canvas.</summary>
    /// <exception cref="InvalidDataException">The file is not such a split, is truncated or inconsistent.</exception>
    public static MegapixelMnistSplit Read(string path)
    {
        var bytes = File.ReadAllBytes(path);
        using var reader = new BinaryReader(new MemoryStream(bytes, writable: false));
        try
        {
            if (!reader.ReadBytes(Magic.Length).AsSpan().SequenceEqual(Magic))
            {
                throw new InvalidDataException($"{path}: not a Megapixel MNIST split file (bad magic); regenerate it with 'ips data megapixel-mnist'.");
            }
            var version = reader.ReadInt32();
            if (version != FormatVersion)
            {
                throw new InvalidDataException($"{path}: format version {version}, this build reads version {FormatVersion}.");
            }
            var width = reader.ReadInt32();
            var height = reader.ReadInt32();
            var noise = reader.ReadBoolean();
            var nNoise = reader.ReadInt32();
            var count = reader.ReadInt32();
            if (width < MnistSplit.Side || height < MnistSplit.Side || nNoise < 0 || count < 0)
            {
                throw new InvalidDataException($"{path}: bad header (width {width}, height {height}, n_noise {nNoise}, count {count}).");
            }
            var patterns = ReadExactly(reader, nNoise * MnistSplit.Pixels, path);
            var samples = new MegapixelMnistSample[count];
            for (var i = 0; i < count; i++)
            {
                var target = reader.ReadByte();
                var digits = new DigitPlacement[MegapixelMnistSample.DigitCount];
                for (var d = 0; d < digits.Length; d++)
                {
                    var row = reader.ReadInt32();
                    var col = reader.ReadInt32();
                    var mnistIndex = reader.ReadInt32();
                    var label = reader.ReadByte();
                    var pixels = ReadExactly(reader, MnistSplit.Pixels, path);
                    CheckOnCanvas(path, i, row, col, width, height);
                    if (label > 9)
                    {
                        throw new InvalidDataException($"{path}: sample {i} digit {d} has label {label}, expected 0..9.");
                    }
                    digits[d] = new DigitPlacement(row, col, mnistIndex, label, pixels);
                }
                var noiseCount = reader.ReadInt32();
                if (noiseCount < 0 || noiseCount > nNoise)
                {
                    throw new InvalidDataException($"{path}: sample {i} has {noiseCount} noise placements, expected 0..{nNoise}.");
                }
                var placements = new NoisePlacement[noiseCount];
                for (var k = 0; k < noiseCount; k++)
                {
                    var placement = new NoisePlacement(reader.ReadInt32(), reader.ReadInt32(), reader.ReadInt32());
                    CheckOnCanvas(path, i, placement.Row, placement.Col, width, height);
                    if (placement.Pattern < 0 || placement.Pattern >= nNoise)
                    {
                        throw new InvalidDataException($"{path}: sample {i} uses noise pattern {placement.Pattern}, expected 0..{nNoise - 1}.");
                    }
                    placements[k] = placement;
                }
                samples[i] = new MegapixelMnistSample(target, digits, placements);
            }
            if (reader.BaseStream.Position != bytes.Length)
            {
                throw new InvalidDataException($"{path}: {bytes.Length - reader.BaseStream.Position} bytes of trailing data after {count} samples.");
            }
            return new MegapixelMnistSplit(width, height, noise, nNoise, patterns, samples);
        }
        catch (EndOfStreamException error)
        {
            throw new InvalidDataException($"{path}: truncated ({bytes.Length} bytes); regenerate it with 'ips data megapixel-mnist'.", error);
        }
    }

    private static byte[] ReadExactly(BinaryReader reader, int length, string path)
    {
        var data = reader.ReadBytes(length);
        return data.Length == length
            ? data
            : throw new InvalidDataException($"{path}: truncated; regenerate it with 'ips data megapixel-mnist'.");
    }

    private static void CheckOnCanvas(string path, int sample, int row, int col, int width, int height)
    {
        if (row < 0 || col < 0 || row > height - MnistSplit.Side || col > width - MnistSplit.Side)
        {
            throw new InvalidDataException(
                $"{path}: sample {sample} places a 28x28 object at row {row}, column {col}, outside the {height}x{width} canvas.");
        }
    }
}
