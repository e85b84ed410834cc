using System.Collections.Concurrent;
using System.Globalization;
using Ips.Configuration;
using Ips.Imaging;
using Ips.Patches;
using TorchSharp;
using static TorchSharp.torch;

namespace Ips.Data.OwnImages;

/// <summary>
/// Your own labelled images (docs/own-data.md): the split of <see cref="OwnImageListing"/>, every image decoded once
/// when the split opens so that a broken file is found before training rather than halfway through it, then loaded
/// on demand with <see cref="OwnImagePreprocessing"/>; each image gets its own patch grid. Labels are int64 class
/// indices for softmax tasks and 0/1 float32 vectors for sigmoid tasks, in the order of the task's class names.
/// </summary>
public sealed class OwnImagesDataset : ICheckedDataset
{
    private readonly IpsConfig _config;
    private readonly OwnImagePreprocessing _preprocessing;
    private readonly List<OwnImageEntry> _entries;
    private readonly Random _random;
    private readonly string _name;

    /// <summary>
    /// Opens the training (<paramref name="train"/>) or test split of the data in <paramref name="config"/>'s
    /// <c>data_dir</c>; with <paramref name="skipBad"/> the images with problems are left out and listed in
    /// <see cref="Problems"/>, without it they are refused.
    /// </summary>
    /// <exception cref="DataProblemsException">Some images cannot be used and <paramref name="skipBad"/> is false.</exception>
    /// <exception cref="ArgumentException">The config does not fit the data (tasks, classes, channels, loading mode).</exception>
    public OwnImagesDataset(IpsConfig config, bool train, bool skipBad)
    {
        ArgumentNullException.ThrowIfNull(config);
        _config = config;
        _name = config.Source.Length > 0 ? Path.GetFileName(config.Source) : "(built in code)";
        if (config.NChanIn is not (1 or 3))
        {
            throw new ArgumentException($"config {_name}: n_chan_in ({config.NChanIn}) must be 1 (grey) or 3 (RGB) for images.");
        }
        _preprocessing = OwnImagePreprocessing.FromConfig(config);
        Listing = OwnImageListing.Read(config);
        var problems = Listing.Problems.Where(p => p.Train == train).ToList();
        var sizes = new ConcurrentDictionary<string, (int Height, int Width)>();
        var decodeProblems = new ConcurrentBag<DataProblem>();
        var candidates = Listing.Entries.Where(e => e.Train == train).ToList();
        Parallel.ForEach(candidates, new ParallelOptions { MaxDegreeOfParallelism = Math.Min(Environment.ProcessorCount, 4) }, entry =>
        {
            var (problem, size) = Check(entry);
            if (problem is not null)
            {
                decodeProblems.Add(problem);
            }
            else
            {
                sizes[entry.Path] = size;
            }
        });
        problems.AddRange(decodeProblems.OrderBy(p => p.Where, StringComparer.Ordinal));
        Problems = problems;
        if (problems.Count > 0 && !skipBad)
        {
            throw new DataProblemsException(config.DataDir, problems);
        }
        _entries = candidates.Where(e => sizes.ContainsKey(e.Path)).ToList();
        Sizes = _entries.Select(e => sizes[e.Path]).ToList();
        var shapes = Sizes.Select(s => _preprocessing.ResizedSize(s.Height, s.Width)).Distinct().Count();
        if (config.BSeq > 1 && (shapes > 1 || (config.AugRot90 && Sizes.Any(s => s.Height != s.Width))))
        {
            throw new ArgumentException(
                $"config {_name}: the images of '{config.DataDir}' differ in size{(shapes > 1 ? "" : " once rotated (aug_rot90)")}, so IPS selects from one image at a time; " +
                "set B_seq: 1 with eager: True (eager sequential loading), or image_size: [H, W] to resize them all.");
        }
        _random = new Random(config.Seed);
    }

    /// <summary>The listing of both splits, with the class names per task.</summary>
    public OwnImageListing Listing { get; }

    /// <summary>The images of this split that are used, relative to <c>data_dir</c>, in order.</summary>
    public IReadOnlyList<OwnImageEntry> Entries => _entries;

    /// <summary>The decoded size of each image of <see cref="Entries"/>, before any resize.</summary>
    public IReadOnlyList<(int Height, int Width)> Sizes { get; }

    /// <inheritdoc />
    public IReadOnlyList<DataProblem> Problems { get; }

    /// <inheritdoc />
    public int Count => _entries.Count;

    /// <summary>
    /// <paramref name="config"/> with each task's class names recorded from the data in its <c>data_dir</c> where the
    /// config does not list them, as a training run starts, so evaluation and prediction name the classes without the
    /// data; other data sets' configs are returned as they are.
    /// </summary>
    public static IpsConfig RecordClasses(IpsConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (DatasetCatalog.Recognise(config) != DatasetKind.OwnImages || config.Tasks.All(t => t.Classes is not null))
        {
            return config;
        }
        var classes = OwnImageListing.Read(config).Classes;
        return config with { Tasks = [.. config.Tasks.Select(t => t with { Classes = classes[t.Name] })] };
    }

    /// <inheritdoc />
    /// <remarks><paramref name="train"/> applies the config's <c>aug_*</c> augmentations.</remarks>
    public IpsSample Load(int index, bool train)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        var entry = _entries[index];
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
        using (var photo = ImageFile.Load(Path.Combine(_config.DataDir, entry.Path), _config.NChanIn))
        {
            image = _preprocessing.Transform(photo, random); // [C, H, W], padded to its grid
        }
        var grid = PatchExtraction.GridFor((int)image.shape[1], (int)image.shape[2], _config.PatchSize!, _config.PatchStride!, _config.N, _name);
        var labels = _config.Tasks.ToDictionary(task => task.Name, task => Label(task, entry.Labels[task.Name]));
        return new IpsSample(entry.Path, TensorPatchSource.FromImage(image, grid), labels, grid);
    }

    /// <summary>Images per class of this split, per task name, in class order (a multi-label image counts once per label).</summary>
    public IReadOnlyDictionary<string, int[]> CountPerClass() => _config.Tasks.ToDictionary(
        task => task.Name,
        task => Listing.Classes[task.Name].Select(name => _entries.Count(e => e.Labels[task.Name].Contains(name))).ToArray());

    private Tensor Label(TaskConfig task, string[] names)
    {
        var classes = Listing.Classes[task.Name];
        if (task.IsSoftmax)
        {
            return torch.tensor((long)IndexOf(classes, names[0]));
        }
        var targets = new float[classes.Count];
        foreach (var name in names)
        {
            targets[IndexOf(classes, name)] = 1;
        }
        return torch.tensor(targets);
    }

    private static int IndexOf(IReadOnlyList<string> classes, string name)
    {
        for (var i = 0; i < classes.Count; i++)
        {
            if (classes[i] == name) return i;
        }
        throw new InvalidOperationException($"class '{name}' is not listed; the listing drops such rows");
    }

    // Decodes the image and checks that it makes at least M patches (and N of them where the config fixes N).
    private (DataProblem? Problem, (int Height, int Width) Size) Check(OwnImageEntry entry)
    {
        var path = Path.Combine(_config.DataDir, entry.Path);
        try
        {
            using var image = ImageFile.Load(path, _config.NChanIn);
            int height = (int)image.shape[1], width = (int)image.shape[2];
            var counts = new[] { _preprocessing.PatchCount(height, width) }
                .Concat(_config.AugRot90 && _config.ImageSize is null ? [_preprocessing.PatchCount(width, height)] : []).ToList();
            if (counts.Min() < _config.M)
            {
                return (new DataProblem(entry.Path, string.Create(CultureInfo.InvariantCulture,
                    $"its {width} x {height} pixels make {counts.Min()} patches, fewer than M ({_config.M}), and selection never picks padding; lower M or patch_size, or set image_size"), entry.Train), default);
            }
            if (_config.N is { } n && counts.Any(count => count != n))
            {
                return (new DataProblem(entry.Path, string.Create(CultureInfo.InvariantCulture,
                    $"its {width} x {height} pixels make {counts[0]} patches, but the config fixes N at {n}; leave N out (and use_pos: False) for images of any size, or set image_size"), entry.Train), default);
            }
            return (null, (height, width));
        }
        catch (Exception error) when (error is InvalidDataException or IOException or ArgumentException or UnauthorizedAccessException)
        {
            var message = error.Message.StartsWith(path + ": ", StringComparison.Ordinal) ? error.Message[(path.Length + 2)..] : error.Message;
            return (new DataProblem(entry.Path, $"unreadable image: {message}", entry.Train), default);
        }
    }
}
