using System.Collections.Concurrent;
using System.Globalization;
using Ips.Configuration;
using Ips.Imaging;
using Ips.Patches;
using Ips.Slides;
using TorchSharp;
using static TorchSharp.torch;

namespace Ips.Data.OwnImages;

/// <summary>
/// Your own labelled images (docs/own-data.md): the split of <see cref="OwnImageListing"/>, every image decoded once
/// when the split opens so that a broken file is found before training rather than halfway through it, then loaded
/// on demand with <see cref="OwnImagePreprocessing"/>; each image gets its own patch grid. Whole slides
/// (<see cref="OwnSlides"/>) are opened and their tiles counted instead, and load as a <see cref="SlideTileSource"/>
/// that reads tiles from disk as selection asks for them. Labels are int64 class
/// indices for softmax tasks and 0/1 float32 vectors for sigmoid tasks, in the order of the task's class names.
/// </summary>
public sealed class OwnImagesDataset : ICheckedDataset
{
    private readonly IpsConfig _config;
    private readonly OwnImagePreprocessing _preprocessing;
    private readonly List<OwnImageEntry> _entries;
    private readonly HashSet<string> _slides;
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
        var slides = new ConcurrentDictionary<string, bool>();
        var decodeProblems = new ConcurrentBag<DataProblem>();
        var candidates = Listing.Entries.Where(e => e.Train == train).ToList();
        Parallel.ForEach(candidates, new ParallelOptions { MaxDegreeOfParallelism = Math.Min(Environment.ProcessorCount, 4) }, entry =>
        {
            var path = Path.Combine(config.DataDir, entry.Path);
            var isSlide = OwnSlides.IsSlide(config, path);
            if (isSlide)
            {
                slides[entry.Path] = true;
            }
            var (problem, size) = isSlide ? CheckSlide(entry, path) : Check(entry);
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
        if (config.CoordsDir is not null)
        {
            problems.AddRange(SharedSlideNames(candidates.Where(e => sizes.ContainsKey(e.Path)), sizes));
        }
        if (!slides.IsEmpty)
        {
            CheckSlideConfig();
        }
        Problems = problems;
        if (problems.Count > 0 && !skipBad)
        {
            throw new DataProblemsException(config.DataDir, problems);
        }
        _entries = candidates.Where(e => sizes.ContainsKey(e.Path)).ToList();
        _slides = [.. slides.Keys];
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

    /// <summary>The decoded size of each image of <see cref="Entries"/>, before any resize; a slide's level-0 size.</summary>
    public IReadOnlyList<(int Height, int Width)> Sizes { get; }

    /// <inheritdoc />
    public IReadOnlyList<DataProblem> Problems { get; }

    /// <inheritdoc />
    public int Count => _entries.Count;

    /// <summary>Whether entry <paramref name="index"/> is a whole slide, loaded tile by tile (<see cref="OwnSlides"/>).</summary>
    public bool IsSlide(int index) => _slides.Contains(_entries[index].Path);

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
        var labels = _config.Tasks.ToDictionary(task => task.Name, task => Label(task, entry.Labels[task.Name]));
        if (_slides.Contains(entry.Path))
        {
            return new IpsSample(entry.Path, LoadSlide(Path.Combine(_config.DataDir, entry.Path)), labels);
        }
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
        return new IpsSample(entry.Path, TensorPatchSource.FromImage(image, grid), labels, grid);
    }

    /// <summary>Images per class of this split, per task name, in class order (a multi-label image counts once per label).</summary>
    public IReadOnlyDictionary<string, int[]> CountPerClass() => _config.Tasks.ToDictionary(
        task => task.Name,
        task => Listing.Classes[task.Name].Select(name => _entries.Count(e => e.Labels[task.Name].Contains(name))).ToArray());

    // coords_dir holds one NAME.h5 per slide name, so of two slides named alike (in any split) only the first listed
    // is used: the other would be read with its tiles. Each one left out is a problem, and no longer counts as checked.
    private List<DataProblem> SharedSlideNames(IEnumerable<OwnImageEntry> usable, ConcurrentDictionary<string, (int Height, int Width)> sizes)
    {
        var first = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in Listing.Entries)
        {
            first.TryAdd(Path.GetFileNameWithoutExtension(entry.Path), entry.Path);
        }
        var problems = new List<DataProblem>();
        foreach (var entry in usable.ToList())
        {
            var name = Path.GetFileNameWithoutExtension(entry.Path);
            if (first[name] != entry.Path)
            {
                problems.Add(new DataProblem(entry.Path, $"shares its name with {first[name]}, and coords_dir holds one {name}.h5 per name; rename one of them and tile it again", entry.Train));
                sizes.TryRemove(entry.Path, out _);
            }
        }
        return problems;
    }

    // The slide's tiles, read from disk as selection asks for them; the source owns the open slide.
    private IPatchSource LoadSlide(string path)
    {
        var slide = SlideOpener.Open(path);
        IPatchSource tiles;
        try
        {
            var plan = OwnSlides.Plan(_config, slide, path);
            tiles = new SlideTileSource(slide, plan.Sampling, plan.Coordinates, ownsSlide: true);
        }
        catch
        {
            slide.Dispose();
            throw;
        }
        return _config.Normalize == "imagenet" ? new NormalisedPatchSource(tiles) : tiles;
    }

    // What images allow and slides do not, each refused naming the key: slides are RGB tiles streamed from disk, one
    // slide selected at a time, read as they are.
    private void CheckSlideConfig()
    {
        string? wrong =
            _config.NChanIn != 3 ? $"n_chan_in ({_config.NChanIn}) must be 3: slides are RGB"
            : _config.PatchSize![0] != _config.PatchSize[1] || _config.PatchStride![0] != _config.PatchStride[1] ? "patch_size and patch_stride must be square ([P, P]): slide tiles are square"
            : _config.ImageSize is not null ? "image_size resizes whole images, and slides are read tile by tile; remove it"
            : _config.AugFlip || _config.AugRot90 || _config.AugColorJitter > 0 || _config.AugTranslate > 0 ? "the aug_* keys transform whole images, and slide tiles are read as they are; remove them"
            : _config.Eager ? "slides are streamed tile by tile from disk, never held whole; set eager: False"
            : _config.BSeq != 1 ? $"B_seq ({_config.BSeq}) must be 1: slides differ in their number of tiles, so IPS selects from one slide at a time"
            : null;
        if (wrong is not null)
        {
            throw new ArgumentException($"config {_name}: '{_config.DataDir}' holds whole slides; {wrong} (docs/own-data.md, \"Slides\").");
        }
    }

    // Opens the slide (its header, not its pixels) and counts its tiles: at least M, and N where the config fixes N.
    private (DataProblem? Problem, (int Height, int Width) Size) CheckSlide(OwnImageEntry entry, string path)
    {
        var survey = OwnSlides.Survey(_config, path);
        var problem = survey.Problem
            ?? (survey.Tiles < _config.M ? string.Create(CultureInfo.InvariantCulture,
                $"the slide has {survey.Tiles} tiles, fewer than M ({_config.M}); lower M{(_config.CoordsDir is null ? " or patch_size" : ", or tile it with a lower --fg-perc-thresh")}")
            : _config.N is { } n && survey.Tiles != n ? string.Create(CultureInfo.InvariantCulture,
                $"the slide has {survey.Tiles} tiles, but the config fixes N at {n}; leave N out (and use_pos: False) for slides")
            : null);
        return problem is null
            ? (null, (checked((int)survey.Height), checked((int)survey.Width)))
            : (new DataProblem(entry.Path, problem, entry.Train), default);
    }

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
            return (new DataProblem(entry.Path, $"unreadable image: {OwnSlides.WithoutPath(error.Message, path)}", entry.Train), default);
        }
    }
}
