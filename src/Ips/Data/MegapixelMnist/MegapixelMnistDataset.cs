using System.Globalization;
using Ips.Configuration;
using Ips.Patches;
using TorchSharp;
using static TorchSharp.torch;

namespace Ips.Data.MegapixelMnist;

/// <summary>
/// A Megapixel MNIST split written by <see cref="MegapixelMnistGenerator"/>, served as patches of the config's grid
/// with the labels of the tasks <c>majority</c>, <c>max</c>, <c>top</c> (int64 class index) and <c>multi</c>
/// (float32 <c>[10]</c> of 0/1), like the official <c>mnist_dataset.py</c>.
/// </summary>
public sealed class MegapixelMnistDataset : IIpsDataset
{
    /// <summary>The task names this dataset has labels for.</summary>
    public static readonly IReadOnlyList<string> TaskNames = ["majority", "max", "top", "multi"];

    private readonly MegapixelMnistSplit _split;
    private readonly PatchGrid _grid;
    private readonly string[] _tasks;

    /// <summary>
    /// Opens the <paramref name="train"/> (else test) split of the dataset in <paramref name="directory"/> and checks that
    /// <paramref name="config"/>'s <c>patch_size</c>, <c>patch_stride</c> and <c>N</c> fit its canvas.
    /// </summary>
    /// <exception cref="FileNotFoundException">The directory holds no dataset.</exception>
    /// <exception cref="InvalidDataException">The files are malformed or disagree with each other.</exception>
    /// <exception cref="ArgumentException">The config's patch grid or tasks do not fit the dataset.</exception>
    public MegapixelMnistDataset(string directory, bool train, IpsConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var parameters = MegapixelMnistParameters.Read(directory);
        var path = Path.Combine(directory, train ? parameters.TrainFile : parameters.TestFile);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{path} not found; regenerate the dataset with 'ips data megapixel-mnist {directory}'.", path);
        }
        _split = MegapixelMnistSplit.Read(path);
        if (_split.Width != parameters.Width || _split.Height != parameters.Height
            || _split.Count != (train ? parameters.NTrain : parameters.NTest))
        {
            throw new InvalidDataException(
                $"{path}: {_split.Count} images of {_split.Height}x{_split.Width} disagree with {MegapixelMnistParameters.FileName} " +
                $"({(train ? parameters.NTrain : parameters.NTest)} images of {parameters.Height}x{parameters.Width}).");
        }
        _grid = GridFor(config, _split.Height, _split.Width);
        _tasks = config.Tasks.Count == 0 ? [.. TaskNames] : config.Tasks.Select(t => t.Name).ToArray();
        var unknown = _tasks.Where(name => !TaskNames.Contains(name)).ToList();
        if (unknown.Count > 0)
        {
            throw new ArgumentException(
                $"config {Describe(config)}: task name(s) {string.Join(", ", unknown)} have no Megapixel MNIST labels; use {string.Join(", ", TaskNames)}.");
        }
        Train = train;
    }

    /// <summary>Whether this is the training split.</summary>
    public bool Train { get; }

    /// <summary>The patch layout every sample shares.</summary>
    public PatchGrid Grid => _grid;

    /// <summary>The stored split, for inspection.</summary>
    internal MegapixelMnistSplit Split => _split;

    /// <inheritdoc />
    public int Count => _split.Count;

    /// <inheritdoc />
    /// <remarks>Megapixel MNIST has no augmentation, so <paramref name="train"/> changes nothing.</remarks>
    public IpsSample Load(int index, bool train)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        var sample = _split.Samples[index];
        var labels = new Dictionary<string, Tensor>();
        foreach (var task in _tasks)
        {
            labels[task] = task switch
            {
                "majority" => torch.tensor((long)sample.Majority),
                "max" => torch.tensor((long)sample.Max),
                "top" => torch.tensor((long)sample.Top),
                _ => torch.tensor(sample.Multi),
            };
        }
        var canvas = _split.Render(index); // [1, H, W]
        var name = $"{(Train ? "train" : "test")}/{index.ToString(CultureInfo.InvariantCulture)}";
        return new IpsSample(name, TensorPatchSource.FromImage(canvas, _grid), labels, _grid);
    }

    /// <summary>The config's sliding-window grid over an <paramref name="height"/> x <paramref name="width"/> canvas, checked against <c>N</c>.</summary>
    internal static PatchGrid GridFor(IpsConfig config, int height, int width)
    {
        if (config.PatchSize is not [var ph, var pw] || config.PatchStride is not [var sy, var sx])
        {
            throw new ArgumentException($"config {Describe(config)}: patch_size and patch_stride must each be [height, width] for Megapixel MNIST.");
        }
        if (ph <= 0 || pw <= 0 || sy <= 0 || sx <= 0 || ph > height || pw > width)
        {
            throw new ArgumentException(
                $"config {Describe(config)}: patch_size [{ph}, {pw}] and patch_stride [{sy}, {sx}] must be positive and fit the {height}x{width} canvas.");
        }
        var grid = new PatchGrid(height, width, ph, pw, sy, sx);
        if (config.N != grid.Count)
        {
            throw new ArgumentException(
                $"config {Describe(config)}: N ({(config.N?.ToString(CultureInfo.InvariantCulture) ?? "missing")}) must be {grid.Count}: " +
                $"patch_size [{ph}, {pw}] with stride [{sy}, {sx}] cuts the {height}x{width} canvas into {grid.Rows} x {grid.Cols} patches.");
        }
        return grid;
    }

    private static string Describe(IpsConfig config) => config.Source.Length > 0 ? config.Source : "(built in code)";
}
