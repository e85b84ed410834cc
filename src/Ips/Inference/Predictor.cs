using Ips.Configuration;
using Ips.Data;
using Ips.Features;
using Ips.IO;
using Ips.Imaging;
using Ips.Modeling;
using Ips.Patches;
using Ips.Selection;
using Ips.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Ips.Inference;

/// <summary>One selected patch of a prediction.</summary>
/// <param name="Index">Original (row-major) patch index.</param>
/// <param name="Score">Attention of the aggregator on this patch in the forward pass, averaged over heads and tokens.</param>
/// <param name="Box">Pixel box of the patch in the image; null for feature matrices.</param>
public sealed record SelectedPatch(long Index, float Score, PixelBox? Box)
{
    /// <summary>For a slide with annotations: the fraction of the tile's area inside annotated tumour.</summary>
    public float? TumourFraction { get; init; }
}

/// <summary>The prediction for one input.</summary>
/// <param name="Input">The input file.</param>
/// <param name="PatchCount">N, the input's number of patches.</param>
/// <param name="Probabilities">Per task name, the head's output probabilities.</param>
/// <param name="Selected">The M selected patches, by ascending index.</param>
/// <param name="AttentionMap">Path of the attention picture written for an image, if one was asked for.</param>
public sealed record Prediction(
    string Input,
    int PatchCount,
    IReadOnlyDictionary<string, float[]> Probabilities,
    IReadOnlyList<SelectedPatch> Selected,
    string? AttentionMap)
{
    /// <summary>Per task name, the predicted class: an index for softmax tasks, the indices with p &gt;= 0.5 for sigmoid ones.</summary>
    public IReadOnlyDictionary<string, object>? Classes { get; init; }

    /// <summary>For a slide with annotations: how many selected tiles lie in annotated tumour.</summary>
    public TumourOverlap? Tumour { get; init; }
}

/// <summary>
/// Runs a trained model on new inputs: an image file (PNG, JPEG, TIFF) cut into the config's patch grid, or a
/// feature matrix (.npy, .safetensors or a CLAM/TRIDENT per-slide .h5, [N, n_chan_in] float32) read from disk chunk by chunk. IPS selects M
/// patches in evaluation mode; the forward pass gives per-task probabilities and the attention on each selected patch.
/// </summary>
public sealed partial class Predictor : IDisposable
{
    private readonly IpsNet _net;
    private readonly IterativePatchSelector _selector;
    private readonly Device _device;
    private readonly IpsConfig _config;
    private readonly IImagePreprocessing _preprocessing;

    /// <summary>Builds the network of <paramref name="config"/> and loads <paramref name="weights"/> into it.</summary>
    /// <param name="config">The model's config.</param>
    /// <param name="weights">A PyTorch state_dict (.pt/.pth), a .safetensors file, or a training checkpoint (.ckpt).</param>
    /// <param name="device">Where to run.</param>
    public Predictor(IpsConfig config, string weights, Device device)
    {
        _config = config;
        _device = device;
        _net = new IpsNet(config);
        LoadWeights(_net, weights);
        _net.to(device);
        _net.eval();
        _selector = new IterativePatchSelector(_net);
        _preprocessing = ImagePreprocessing.For(config);
    }

    /// <summary>Predicts one input; writes an attention picture into <paramref name="attentionDirectory"/> for images when given.</summary>
    public Prediction Predict(string input, string? attentionDirectory = null)
    {
        var extension = Path.GetExtension(input).ToLowerInvariant();
        CheckSlideOptions();
        if (IsSlide(input))
        {
            return PredictSlide(input, attentionDirectory);
        }
        return extension is ".npy" or ".safetensors" or ".h5" ? PredictFeatures(input) : PredictImage(input, attentionDirectory);
    }

    private Prediction PredictFeatures(string input)
    {
        if (_config.IsImage)
        {
            throw new ArgumentException($"{input}: a feature matrix needs a config with is_image: false; config {Path.GetFileName(_config.Source)} expects images.");
        }
        using IPatchSource source = Path.GetExtension(input).ToLowerInvariant() switch
        {
            ".npy" => NpyFeatureSource.Open(input),
            ".h5" => Hdf5FeatureSource.OpenSlideFile(input),
            _ => SafetensorsFeatureSource.Open(input),
        };
        if (source.PatchShape[0] != _config.NChanIn)
        {
            throw new ArgumentException($"{input}: features have {source.PatchShape[0]} columns, config {Path.GetFileName(_config.Source)} has n_chan_in {_config.NChanIn}.");
        }
        return Run(input, source, grid: null, image: null, attentionDirectory: null);
    }

    private Prediction PredictImage(string input, string? attentionDirectory)
    {
        if (!_config.IsImage)
        {
            throw new ArgumentException($"{input}: config {Path.GetFileName(_config.Source)} has is_image: false and expects a feature matrix (.npy, .safetensors, or a CLAM/TRIDENT .h5).");
        }
        // The data set's own test-time preprocessing (e.g. resize and ImageNet normalisation for traffic signs).
        PreparedImage prepared;
        using (var photo = ImageFile.Load(input, _config.NChanIn))
        {
            prepared = _preprocessing.Prepare(photo);
        }
        using var _ = prepared;
        var image = prepared.Input;
        PatchGrid grid;
        try
        {
            grid = PatchExtraction.GridFor((int)image.shape[1], (int)image.shape[2], _config.PatchSize!, _config.PatchStride!, _config.N, Path.GetFileName(_config.Source));
        }
        catch (ArgumentException error)
        {
            throw new ArgumentException($"{input}: {error.Message}", error);
        }
        using var source = TensorPatchSource.FromImage(image.alias(), grid);
        return Run(input, source, grid, prepared.Picture, attentionDirectory);
    }

    private Prediction Run(string input, IPatchSource source, PatchGrid? grid, Tensor? image, string? attentionDirectory)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        // A fixed generator: with shuffle on, ties still break the same way on every call.
        using var generator = new Generator((ulong)_config.Seed);
        using var selection = _selector.Select(new[] { source }, _device, generator);

        var probabilities = _net.call(selection.Patches, selection.PositionalEncoding)
            .ToDictionary(kv => kv.Key, kv => kv.Value[0].cpu().data<float>().ToArray());
        PredictionChecks.RequireFinite(input, probabilities, source);

        // The aggregator's attention on the selected patches: [1, H, n_token, M] -> [M].
        var embedded = _net.Embed(selection.Patches);
        if (selection.PositionalEncoding is { } positions)
        {
            embedded = embedded + positions;
        }
        var attention = _net.Transformer.Attention(embedded).mean(new long[] { 1, 2 })[0].cpu().data<float>().ToArray();
        var indices = selection.Indices[0].cpu().data<long>().ToArray();

        var selected = indices
            .Select((index, i) => new SelectedPatch(index, attention[i], grid?.Box(index)))
            .OrderBy(p => p.Index)
            .ToList();

        string? mapPath = null;
        if (attentionDirectory is not null && image is not null && grid is not null)
        {
            Directory.CreateDirectory(attentionDirectory);
            mapPath = Path.Combine(attentionDirectory, Path.GetFileNameWithoutExtension(input) + ".attention.png");
            AttentionMap.Render(image, grid, selected.Select(p => p.Index).ToList(), selected.Select(p => p.Score).ToList(), mapPath, maxSide: 1024);
        }
        return new Prediction(input, source.Count, probabilities, selected, mapPath) { Classes = PredictionChecks.Classes(_config, probabilities) };
    }

    /// <summary>Loads weights from a state_dict file or from a training checkpoint's model.</summary>
    internal static void LoadWeights(IpsNet net, string weights)
    {
        if (!File.Exists(weights))
        {
            throw new FileNotFoundException($"--weights {weights}: file not found.", weights);
        }
        // A .ckpt that is not a readable checkpoint goes the checkpoint's way too, to be reported as damaged.
        if (Checkpoint.IsCheckpoint(weights) || Path.GetExtension(weights).Equals(".ckpt", StringComparison.OrdinalIgnoreCase))
        {
            var extracted = Path.Combine(Path.GetTempPath(), $"ips-model-{Guid.NewGuid():N}.pt");
            try
            {
                Checkpoint.ExtractModel(weights, extracted);
                StateDictIO.Load(net, extracted);
            }
            finally
            {
                File.Delete(extracted);
            }
            return;
        }
        StateDictIO.Load(net, weights);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _net.Dispose();
        _tileEncoder?.Dispose();
    }
}
