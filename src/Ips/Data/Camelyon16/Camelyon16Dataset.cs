using System.Globalization;
using Ips.Configuration;
using Ips.Encoders;
using Ips.Features;
using TorchSharp;
using static TorchSharp.torch;

namespace Ips.Data.Camelyon16;

/// <summary>
/// Whole-slide classification on pre-extracted tile features (docs/design.md section 5, CAMELYON16): each slide is a
/// <see cref="Hdf5FeatureSource"/> of its own N rows, read in slices on demand, labelled 1 (metastases) or 0. Two
/// layouts, as <see cref="DatasetCatalog"/> finds them from the config:
/// <list type="bullet">
/// <item>the official one: <c>data_dir/train_fname</c> and <c>data_dir/test_fname</c>, one HDF5 file per split with one
/// group per slide (<c>img</c>, <c>pos</c>, attribute <c>label</c>), as <c>ips slides pack</c> writes;</item>
/// <item>CLAM/TRIDENT: one <c>&lt;slide_id&gt;.h5</c> per slide (<c>features</c>, <c>coords</c>) in <c>data_dir</c> (or its
/// <c>h5_files</c> folder, where CLAM puts them) and the config's <c>labels_csv</c> for labels and splits.</item>
/// </list>
/// Every task of the config gets the slide label: a float32 <c>[n_class]</c> for sigmoid tasks, an int64 class for softmax.
/// </summary>
public sealed class Camelyon16Dataset : IIpsDataset
{
    private readonly IReadOnlyList<(string Id, int Label, Func<Hdf5FeatureSource> Open)> _slides;
    private readonly IReadOnlyList<TaskConfig> _tasks;

    private Camelyon16Dataset(IReadOnlyList<(string Id, int Label, Func<Hdf5FeatureSource> Open)> slides, IpsConfig config, string where)
    {
        _slides = slides;
        _tasks = config.Tasks;
        if (slides.Count > 0)
        {
            using var first = slides[0].Open();
            if (first.PatchShape[0] != config.NChanIn)
            {
                throw new ArgumentException(
                    $"config {Path.GetFileName(config.Source)}: n_chan_in is {config.NChanIn} but the features in {where} have " +
                    $"{first.PatchShape[0]} columns ({first.Path}); set n_chan_in: {first.PatchShape[0]}");
            }
        }
    }

    /// <inheritdoc />
    public int Count => _slides.Count;

    /// <summary>The slide ids in dataset order.</summary>
    public IEnumerable<string> SlideIds => _slides.Select(s => s.Id);

    /// <summary>Whether the config names a feature data set of this kind (a <c>labels_csv</c> or HDF5 split files).</summary>
    public static bool Recognises(IpsConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return !config.IsImage && (config.LabelsCsv is not null || (config.TrainFname is not null && config.TestFname is not null));
    }

    /// <summary>Opens the training (<paramref name="train"/>) or test split the config names.</summary>
    /// <exception cref="FileNotFoundException">A split file, the labels CSV or a slide's feature file is missing.</exception>
    /// <exception cref="InvalidDataException">A file is damaged or not in the expected layout.</exception>
    public static Camelyon16Dataset Open(IpsConfig config, bool train)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.LabelsCsv is { } labelsCsv)
        {
            return OpenFolder(config, Path.Combine(config.DataDir, labelsCsv), train);
        }
        var name = train ? config.TrainFname : config.TestFname;
        var path = Path.Combine(config.DataDir, name ?? throw new ArgumentException(
            $"config {Path.GetFileName(config.Source)}: {(train ? "train_fname" : "test_fname")} is not set; name the split's HDF5 feature file or set labels_csv"));
        if (!File.Exists(path))
        {
            throw new FileNotFoundException(
                $"config {Path.GetFileName(config.Source)}: {(train ? "train_fname" : "test_fname")} {path} not found; " +
                "`ips slides pack FEATURES_DIR --labels CSV --out FILE` writes it from per-slide feature files", path);
        }
        var slides = Hdf5SplitFile.ReadSlides(path)
            .Select(s => (s.Slide, CheckLabel(s.Label, $"{path}: group '{s.Slide}'"), (Func<Hdf5FeatureSource>)(() => Hdf5FeatureSource.OpenGroup(path, s.Slide))))
            .ToList();
        return new Camelyon16Dataset(slides, config, path);
    }

    /// <summary>
    /// <paramref name="config"/> with <c>feature_encoder</c>, <c>feature_encoder_sha256</c> and <c>feature_encoder_pool</c> recorded from its training
    /// features (<see cref="RecordedEncoder"/>), as a training run starts. Unchanged when the features record none, or
    /// for other data sets.
    /// </summary>
    /// <exception cref="InvalidDataException">The per-slide files record different encoders.</exception>
    /// <exception cref="ArgumentException">The config names another encoder than its features record.</exception>
    public static IpsConfig RecordEncoder(IpsConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (RecordedEncoder(config, train: true) is not { } encoder)
        {
            return config;
        }
        if (config.FeatureEncoderSha256 is { } given && given != encoder.Sha256)
        {
            throw new ArgumentException(
                $"config {Path.GetFileName(config.Source)}: feature_encoder_sha256 is {given}, but the training features record encoder {encoder}; drop the key (training records it) or correct it.");
        }
        if (config.FeatureEncoderPool is { } pool && pool != encoder.Pool)
        {
            throw new ArgumentException(
                $"config {Path.GetFileName(config.Source)}: feature_encoder_pool is {pool}, but the training features record pool {encoder.Pool ?? "none (a ResNet encoder)"}; drop the key (training records it) or correct it.");
        }
        return config with { FeatureEncoder = encoder.Name, FeatureEncoderSha256 = encoder.Sha256, FeatureEncoderPool = encoder.Pool };
    }

    /// <summary>
    /// The encoder whose features the training (<paramref name="train"/>) or test split of <paramref name="config"/>
    /// holds: the encoder attributes of its packed file, or the one encoder all its per-slide files record; null when
    /// they record none, the split's file is not there, or the config names another kind of data set.
    /// </summary>
    /// <exception cref="InvalidDataException">The per-slide files record different encoders.</exception>
    public static EncoderIdentity? RecordedEncoder(IpsConfig config, bool train)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (!Recognises(config))
        {
            return null;
        }
        if (config.LabelsCsv is { } labelsCsv)
        {
            var split = train ? "train" : "test";
            var labelsPath = Path.Combine(config.DataDir, labelsCsv);
            var files = SlideLabels.Read(labelsPath).Where(row => SlideLabels.SplitOf(row) == split)
                .Select(row => (row.SlideId, Path: FindSlideFile(config.DataDir, row.SlideId)))
                .Where(f => f.Path is not null).Select(f => (f.SlideId, f.Path!)).ToList();
            return PackedEncoder.Common(files);
        }
        var path = Path.Combine(config.DataDir, (train ? config.TrainFname : config.TestFname)!);
        return File.Exists(path) ? FeatureProvenance.ReadPackedEncoder(path) : null;
    }

    /// <summary>The per-slide feature file of <paramref name="slideId"/> in <paramref name="directory"/> (or its <c>h5_files</c>), or null.</summary>
    public static string? FindSlideFile(string directory, string slideId)
    {
        foreach (var candidate in new[] { Path.Combine(directory, slideId + ".h5"), Path.Combine(directory, "h5_files", slideId + ".h5") })
        {
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        return null;
    }

    /// <inheritdoc />
    /// <remarks>Features are used as stored, so <paramref name="train"/> changes nothing.</remarks>
    public IpsSample Load(int index, bool train)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        var (id, label, open) = _slides[index];
        var labels = _tasks.ToDictionary(
            task => task.Name,
            task => task.IsSoftmax ? torch.tensor((long)label) : torch.full([task.NClass], (float)label, ScalarType.Float32));
        return new IpsSample(id, open(), labels);
    }

    private static Camelyon16Dataset OpenFolder(IpsConfig config, string labelsPath, bool train)
    {
        var split = train ? "train" : "test";
        var rows = SlideLabels.Read(labelsPath).Where(row => SlideLabels.SplitOf(row) == split).ToList();
        if (rows.Count == 0)
        {
            throw new InvalidDataException(
                $"{labelsPath}: no {split} slides; give the CSV a split column (train/test), or name CAMELYON16 test slides test_*");
        }
        var files = rows.Select(row => (row, file: FindSlideFile(config.DataDir, row.SlideId))).ToList();
        var missing = files.Where(f => f.file is null).Select(f => f.row.SlideId).ToList();
        if (missing.Count > 0)
        {
            throw new FileNotFoundException(
                $"{labelsPath}: {missing.Count.ToString(CultureInfo.InvariantCulture)} {split} slide(s) have no feature file <slide_id>.h5 in " +
                $"{config.DataDir} (or its h5_files folder): {string.Join(", ", missing.Take(5))}{(missing.Count > 5 ? ", ..." : "")}");
        }
        var slides = files
            .Select(f => (f.row.SlideId, f.row.Label, (Func<Hdf5FeatureSource>)(() => Hdf5FeatureSource.OpenSlideFile(f.file!))))
            .ToList();
        return new Camelyon16Dataset(slides, config, config.DataDir);
    }

    private static int CheckLabel(long label, string where) => label is 0 or 1
        ? (int)label
        : throw new InvalidDataException($"{where}: label {label} must be 0 (normal) or 1 (tumour)");
}
