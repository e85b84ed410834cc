using System.Globalization;
using System.Text;
using Ips.Configuration;
using Ips.Encoders;
using YamlDotNet.RepresentationModel;

namespace Ips.Pretraining;

/// <summary>
/// Hyper-parameters of BYOL pre-training (<c>configs/byol.yml</c>). Defaults are those of BYOL (Grill et al. 2020)
/// as the official IPS pre-training used them: LARS with base lr 0.2 x batch / 256, tau from 0.99 to 1, projector and
/// predictor 4096 -> 256, and the asymmetric augmentations of the two views.
/// </summary>
public sealed record ByolConfig
{
    /// <summary>File the config was read from (for messages).</summary>
    public string Source { get; init; } = "";

    /// <summary>An architecture of <see cref="EncoderRegistry"/>: <c>resnet50</c> (2048-d pooled features) or <c>resnet18</c> (512-d, for small runs).</summary>
    public string Backbone { get; init; } = "resnet50";

    /// <summary>Passes over the tiles.</summary>
    public int Epochs { get; init; } = 100;

    /// <summary>Tiles per optimiser step (each seen in two views).</summary>
    public int BatchSize { get; init; } = 256;

    /// <summary>Learning rate per 256 tiles; the peak rate is <c>base_lr * batch_size / 256</c>.</summary>
    public double BaseLr { get; init; } = 0.2;

    /// <summary>Epochs of linear learning-rate warm-up before the cosine decay.</summary>
    public double WarmupEpochs { get; init; } = 10;

    /// <summary>Initial EMA rate of the target network; rises to 1 on a cosine over all steps.</summary>
    public double TauBase { get; init; } = 0.99;

    /// <summary>LARS weight decay (not applied to biases and BatchNorm parameters).</summary>
    public double WeightDecay { get; init; } = 1.5e-6;

    /// <summary>LARS momentum.</summary>
    public double Momentum { get; init; } = 0.9;

    /// <summary>LARS trust coefficient (eta).</summary>
    public double TrustCoefficient { get; init; } = 0.001;

    /// <summary>Hidden width of the projector MLP.</summary>
    public int ProjectorHidden { get; init; } = 4096;

    /// <summary>Output width of projector and predictor.</summary>
    public int ProjectionDim { get; init; } = 256;

    /// <summary>Hidden width of the predictor MLP.</summary>
    public int PredictorHidden { get; init; } = 4096;

    /// <summary>Side of the square views fed to the network.</summary>
    public int ImageSize { get; init; } = 224;

    /// <summary>Area fraction range of the random resized crop.</summary>
    public double[] CropScale { get; init; } = [0.2, 1.0];

    /// <summary>Probability of colour jitter per view.</summary>
    public double JitterP { get; init; } = 0.8;

    /// <summary>Colour jitter strengths: brightness, contrast, saturation (factors in [1 - s, 1 + s]) and hue (shift in [-h, h]).</summary>
    public double[] Jitter { get; init; } = [0.8, 0.8, 0.8, 0.2];

    /// <summary>Probability of greyscale per view.</summary>
    public double GreyP { get; init; } = 0.2;

    /// <summary>Gaussian blur kernel size (odd).</summary>
    public int BlurKernel { get; init; } = 23;

    /// <summary>Range of the blur's sigma.</summary>
    public double[] BlurSigma { get; init; } = [0.1, 2.0];

    /// <summary>Blur probability of view 1 and view 2.</summary>
    public double[] BlurP { get; init; } = [1.0, 0.1];

    /// <summary>Solarisation probability of view 1 and view 2.</summary>
    public double[] SolarizeP { get; init; } = [0.0, 0.2];

    /// <summary>Background threads decoding tiles.</summary>
    public int NWorker { get; init; } = 4;

    /// <summary>Seed of initialisation, data order and augmentations.</summary>
    public int Seed { get; init; }

    /// <summary>Optimiser steps between checkpoints (besides one at the end of every epoch).</summary>
    public int CheckpointEvery { get; init; } = 1000;

    /// <summary>Tile inputs: directories of PNG/JPEG tiles, or CLAM/TRIDENT tile coordinates <c>.h5</c> files (or directories of them).</summary>
    public IReadOnlyList<string> Tiles { get; init; } = [];

    /// <summary>Folder of the slides that coordinates files name (<c>NAME.h5</c> reads slide <c>NAME.*</c>); null without coordinates inputs.</summary>
    public string? Slides { get; init; }

    /// <summary>Peak learning rate, <c>base_lr * batch_size / 256</c>.</summary>
    public double PeakLr => BaseLr * BatchSize / 256.0;

    /// <summary>Width of the backbone's pooled output.</summary>
    public int FeatureDim => EncoderRegistry.ResNet(Backbone).Width;
}

/// <summary>
/// Reads, overrides, validates and writes <see cref="ByolConfig"/> YAML with the helpers of <see cref="ConfigLoader"/>:
/// unknown keys get a "did you mean", bad values a message naming file and key, <c>--set key=value</c> overrides.
/// </summary>
public static class ByolConfigLoader
{
    internal static readonly string[] Keys =
    [
        "backbone", "epochs", "batch_size", "base_lr", "warmup_epochs", "tau_base", "weight_decay", "momentum",
        "trust_coefficient", "projector_hidden", "projection_dim", "predictor_hidden", "image_size", "crop_scale",
        "jitter_p", "jitter", "grey_p", "blur_kernel", "blur_sigma", "blur_p", "solarize_p", "n_worker", "seed",
        "checkpoint_every", "tiles", "slides",
    ];

    /// <summary>Reads <paramref name="path"/>, applies <paramref name="overrides"/> (<c>key=value</c>) and validates.</summary>
    /// <exception cref="ConfigException">The file or a value is wrong; the message names the file and key.</exception>
    public static ByolConfig Load(string path, IReadOnlyList<string>? overrides = null) =>
        Parse(ConfigLoader.ReadFile(path), path, overrides);

    /// <summary>Parses YAML text (see <see cref="Load"/>); an empty text gives the defaults.</summary>
    public static ByolConfig Parse(string yaml, string sourceName, IReadOnlyList<string>? overrides = null)
    {
        var v = new YamlValues(sourceName);
        var root = string.IsNullOrWhiteSpace(yaml) ? new YamlMappingNode() : ConfigLoader.LoadRoot(yaml, v);
        foreach (var item in overrides ?? [])
        {
            ConfigLoader.ApplyOverride(root, item, v);
        }
        var e = ConfigLoader.Entries(root, Keys, "", v);
        var d = new ByolConfig();
        int Int(string key, int fallback) => e.TryGetValue(key, out var n) ? v.Int(key, n) : fallback;
        double Double(string key, double fallback) => e.TryGetValue(key, out var n) ? v.Double(key, n) : fallback;
        double[] Doubles(string key, double[] fallback) => e.TryGetValue(key, out var n) ? Numbers(v, key, n, fallback.Length) : fallback;

        var config = new ByolConfig
        {
            Source = sourceName,
            Backbone = e.TryGetValue("backbone", out var b) ? v.String("backbone", b) : d.Backbone,
            Epochs = Int("epochs", d.Epochs),
            BatchSize = Int("batch_size", d.BatchSize),
            BaseLr = Double("base_lr", d.BaseLr),
            WarmupEpochs = Double("warmup_epochs", d.WarmupEpochs),
            TauBase = Double("tau_base", d.TauBase),
            WeightDecay = Double("weight_decay", d.WeightDecay),
            Momentum = Double("momentum", d.Momentum),
            TrustCoefficient = Double("trust_coefficient", d.TrustCoefficient),
            ProjectorHidden = Int("projector_hidden", d.ProjectorHidden),
            ProjectionDim = Int("projection_dim", d.ProjectionDim),
            PredictorHidden = Int("predictor_hidden", d.PredictorHidden),
            ImageSize = Int("image_size", d.ImageSize),
            CropScale = Doubles("crop_scale", d.CropScale),
            JitterP = Double("jitter_p", d.JitterP),
            Jitter = Doubles("jitter", d.Jitter),
            GreyP = Double("grey_p", d.GreyP),
            BlurKernel = Int("blur_kernel", d.BlurKernel),
            BlurSigma = Doubles("blur_sigma", d.BlurSigma),
            BlurP = Doubles("blur_p", d.BlurP),
            SolarizeP = Doubles("solarize_p", d.SolarizeP),
            NWorker = Int("n_worker", d.NWorker),
            Seed = Int("seed", d.Seed),
            CheckpointEvery = Int("checkpoint_every", d.CheckpointEvery),
            Tiles = e.TryGetValue("tiles", out var t) ? Strings(v, "tiles", t) : d.Tiles,
            Slides = e.TryGetValue("slides", out var s) ? v.NullableString("slides", s) : d.Slides,
        };
        Validate(config, v);
        return config;
    }

    /// <summary>Checks the rules of <see cref="Parse"/> on a config built in code.</summary>
    /// <exception cref="ConfigException">A value is out of range.</exception>
    public static void Validate(ByolConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        Validate(config, new YamlValues(config.Source.Length > 0 ? config.Source : "(in code)"));
    }

    private static void Validate(ByolConfig c, YamlValues v)
    {
        if (!EncoderRegistry.ResNetNames.Contains(c.Backbone))
            throw v.Error($"key 'backbone' must be one of {string.Join(", ", EncoderRegistry.ResNetNames)}, got '{c.Backbone}'");
        ConfigValidator.Positive(v, "epochs", c.Epochs);
        ConfigValidator.Positive(v, "batch_size", c.BatchSize);
        ConfigValidator.Positive(v, "projector_hidden", c.ProjectorHidden);
        ConfigValidator.Positive(v, "projection_dim", c.ProjectionDim);
        ConfigValidator.Positive(v, "predictor_hidden", c.PredictorHidden);
        ConfigValidator.Positive(v, "checkpoint_every", c.CheckpointEvery);
        // BatchNorm in the projector needs two samples to compute batch statistics.
        if (c.BatchSize < 2) throw v.Error($"key 'batch_size' ({c.BatchSize}) must be >= 2: the MLPs' BatchNorm needs a batch");
        if (!(c.BaseLr > 0)) throw v.Error($"key 'base_lr' ({c.BaseLr}) must be > 0");
        if (!(c.WarmupEpochs >= 0 && c.WarmupEpochs <= c.Epochs))
            throw v.Error($"key 'warmup_epochs' ({c.WarmupEpochs}) must be in [0, epochs] = [0, {c.Epochs}]");
        if (!(c.TauBase >= 0 && c.TauBase <= 1)) throw v.Error($"key 'tau_base' ({c.TauBase}) must be in [0, 1]");
        if (!(c.WeightDecay >= 0)) throw v.Error($"key 'weight_decay' ({c.WeightDecay}) must be >= 0");
        if (!(c.Momentum >= 0 && c.Momentum < 1)) throw v.Error($"key 'momentum' ({c.Momentum}) must be in [0, 1)");
        if (!(c.TrustCoefficient > 0)) throw v.Error($"key 'trust_coefficient' ({c.TrustCoefficient}) must be > 0");
        if (c.BlurKernel < 1 || c.BlurKernel % 2 == 0) throw v.Error($"key 'blur_kernel' ({c.BlurKernel}) must be a positive odd number");
        // Reflect padding of the blur needs the image to be wider than half the kernel.
        if (c.ImageSize <= c.BlurKernel / 2 || c.ImageSize < 8)
            throw v.Error($"key 'image_size' ({c.ImageSize}) must be >= 8 and > blur_kernel / 2 ({c.BlurKernel / 2})");
        if (!(c.CropScale[0] > 0 && c.CropScale[0] <= c.CropScale[1] && c.CropScale[1] <= 1))
            throw v.Error($"key 'crop_scale' must be [low, high] with 0 < low <= high <= 1, got [{c.CropScale[0]}, {c.CropScale[1]}]");
        if (c.Jitter.Take(3).Any(s => !(s >= 0)) || !(c.Jitter[3] >= 0 && c.Jitter[3] <= 0.5))
            throw v.Error($"key 'jitter' must be [brightness, contrast, saturation, hue] with strengths >= 0 and hue in [0, 0.5]");
        if (!(c.BlurSigma[0] > 0 && c.BlurSigma[0] <= c.BlurSigma[1]))
            throw v.Error($"key 'blur_sigma' must be [low, high] with 0 < low <= high, got [{c.BlurSigma[0]}, {c.BlurSigma[1]}]");
        Probability(v, "jitter_p", c.JitterP);
        Probability(v, "grey_p", c.GreyP);
        foreach (var p in c.BlurP) Probability(v, "blur_p", p);
        foreach (var p in c.SolarizeP) Probability(v, "solarize_p", p);
        if (c.NWorker < 0) throw v.Error($"key 'n_worker' ({c.NWorker}) must be >= 0");
    }

    private static void Probability(YamlValues v, string key, double value)
    {
        if (!(value >= 0 && value <= 1)) throw v.Error($"key '{key}' has {value}; probabilities must be in [0, 1]");
    }

    private static double[] Numbers(YamlValues v, string key, YamlNode node, int count)
    {
        if (node is YamlSequenceNode seq && seq.Children.Count == count)
        {
            return [.. seq.Children.Select(child => v.Double(key, child))];
        }
        throw v.Error($"key '{key}' must be a list of {count} numbers, got {YamlValues.Describe(node)}");
    }

    private static string[] Strings(YamlValues v, string key, YamlNode node)
    {
        if (YamlValues.IsNull(node)) return [];
        if (node is YamlSequenceNode seq) return [.. seq.Children.Select(child => v.String(key, child))];
        return [v.String(key, node)];
    }

    /// <summary>The config as YAML that <see cref="Parse"/> reads back to an equal config (stored in checkpoints).</summary>
    public static string ToYaml(ByolConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var sb = new StringBuilder();
        void Line(string key, string value) => sb.Append(key).Append(": ").Append(value).Append('\n');
        static string I(int value) => value.ToString(CultureInfo.InvariantCulture);
        static string F(double value) => ConfigLoader.Float(value);
        static string List(IEnumerable<double> values) => "[" + string.Join(", ", values.Select(F)) + "]";
        static string Quote(string value) => "'" + value.Replace("'", "''", StringComparison.Ordinal) + "'";

        Line("backbone", Quote(config.Backbone));
        Line("epochs", I(config.Epochs));
        Line("batch_size", I(config.BatchSize));
        Line("base_lr", F(config.BaseLr));
        Line("warmup_epochs", F(config.WarmupEpochs));
        Line("tau_base", F(config.TauBase));
        Line("weight_decay", F(config.WeightDecay));
        Line("momentum", F(config.Momentum));
        Line("trust_coefficient", F(config.TrustCoefficient));
        Line("projector_hidden", I(config.ProjectorHidden));
        Line("projection_dim", I(config.ProjectionDim));
        Line("predictor_hidden", I(config.PredictorHidden));
        Line("image_size", I(config.ImageSize));
        Line("crop_scale", List(config.CropScale));
        Line("jitter_p", F(config.JitterP));
        Line("jitter", List(config.Jitter));
        Line("grey_p", F(config.GreyP));
        Line("blur_kernel", I(config.BlurKernel));
        Line("blur_sigma", List(config.BlurSigma));
        Line("blur_p", List(config.BlurP));
        Line("solarize_p", List(config.SolarizeP));
        Line("n_worker", I(config.NWorker));
        Line("seed", I(config.Seed));
        Line("checkpoint_every", I(config.CheckpointEvery));
        Line("tiles", "[" + string.Join(", ", config.Tiles.Select(Quote)) + "]");
        Line("slides", config.Slides is null ? "null" : Quote(config.Slides));
        return sb.ToString();
    }
}
