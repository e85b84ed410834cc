using System.Globalization;
using Ips.Configuration;
using Ips.Imaging;
using Ips.Patches;
using TorchSharp;
using static TorchSharp.torch;

namespace Ips.Data.Traffic;

/// <summary>
/// The Swedish traffic signs data set of the paper (docs/design.md section 5): the photos of one STS set kept by
/// <see cref="TrafficSigns.Filter"/>, prepared by <see cref="TrafficPreprocessing"/> and cut into the config's patch
/// grid; every task of the config gets the class (<see cref="TrafficSigns.Classes"/>) as its int64 label.
/// </summary>
public sealed class TrafficSignsDataset : IIpsDataset
{
    private readonly string _setDirectory;
    private readonly IReadOnlyList<(string File, int Label)> _items;
    private readonly TrafficPreprocessing _preprocessing;
    private readonly PatchGrid _grid;
    private readonly string[] _tasks;
    private readonly Random _random;

    /// <summary>
    /// Opens the training (<paramref name="train"/>) or test split of the data set in <paramref name="directory"/>:
    /// the set <see cref="TrafficSigns.SetFor"/> chooses for the config's seed.
    /// </summary>
    /// <exception cref="FileNotFoundException">The set's annotation file is missing.</exception>
    /// <exception cref="InvalidDataException">The annotation file is malformed or names missing images.</exception>
    /// <exception cref="ArgumentException">The config's grid or tasks do not fit the data set.</exception>
    public TrafficSignsDataset(string directory, bool train, IpsConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var name = config.Source.Length > 0 ? Path.GetFileName(config.Source) : "(built in code)";
        Set = TrafficSigns.SetFor(config.Seed, train);
        _setDirectory = Path.Combine(directory, Set);
        var annotations = Path.Combine(_setDirectory, "annotations.txt");
        _items = TrafficSigns.Filter(StsAnnotations.Read(annotations));
        var missing = _items.FirstOrDefault(item => !File.Exists(Path.Combine(_setDirectory, item.File)));
        if (missing.File is not null)
        {
            throw new InvalidDataException(
                $"{annotations} names {missing.File}, which is not in {_setDirectory}; fetch or extract the set with `ips data traffic --dir {directory}`.");
        }
        _preprocessing = TrafficPreprocessing.FromConfig(config);
        _grid = PatchExtraction.GridFor(_preprocessing.Height, _preprocessing.Width, config.PatchSize!, config.PatchStride!, config.N, name);
        if (config.NChanIn != 3)
        {
            throw new ArgumentException($"config {name}: n_chan_in must be 3 for the traffic-sign photos (got {config.NChanIn}).");
        }
        var wrong = config.Tasks.Where(task => !task.IsSoftmax || task.NClass != TrafficSigns.Classes.Count).Select(task => task.Name).ToList();
        if (wrong.Count > 0)
        {
            throw new ArgumentException(
                $"config {name}: task(s) {string.Join(", ", wrong)} must be softmax over {TrafficSigns.Classes.Count} classes " +
                $"({string.Join(", ", TrafficSigns.Classes)}).");
        }
        _tasks = config.Tasks.Select(task => task.Name).ToArray();
        _random = new Random(config.Seed);
    }

    /// <summary>The STS set this split reads (<c>Set1</c> or <c>Set2</c>).</summary>
    public string Set { get; }

    /// <summary>The kept images (relative to the set's folder) and their class indices.</summary>
    public IReadOnlyList<(string File, int Label)> Items => _items;

    /// <summary>The patch layout every sample shares.</summary>
    public PatchGrid Grid => _grid;

    /// <inheritdoc />
    public int Count => _items.Count;

    /// <inheritdoc />
    /// <remarks><paramref name="train"/> adds the colour jitter and random translation.</remarks>
    public IpsSample Load(int index, bool train)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        var (file, label) = _items[index];
        Random? random = null;
        if (train)
        {
            // One seed per sample drawn under a lock: Load runs on several threads at once.
            lock (_random)
            {
                random = new Random(_random.Next());
            }
        }
        Tensor image;
        using (var photo = ImageFile.Load(Path.Combine(_setDirectory, file), 3))
        {
            image = _preprocessing.Transform(photo, random); // [3, H, W]
        }
        var labels = _tasks.ToDictionary(task => task, _ => torch.tensor((long)label));
        var id = $"{Set}/{file}";
        return new IpsSample(id, TensorPatchSource.FromImage(image, _grid), labels, _grid);
    }

    /// <summary>Kept images per class of this split, in <see cref="TrafficSigns.Classes"/> order.</summary>
    public int[] CountPerClass()
    {
        var counts = new int[TrafficSigns.Classes.Count];
        foreach (var (_, label) in _items)
        {
            counts[label]++;
        }
        return counts;
    }

    /// <summary>A one-line summary for logs.</summary>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Set}: {Count} images of {_preprocessing.Height}x{_preprocessing.Width}");
}
