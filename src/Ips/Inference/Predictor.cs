using Ips.Configuration;
using Ips.Modeling;
using Ips.Patches;
using Ips.Selection;
using TorchSharp;
using static TorchSharp.torch;

namespace Ips.Inference;

/// <summary>
/// Runs a trained model on new inputs: an image file (PNG, JPEG, TIFF) cut into the config's patch grid, a feature
/// matrix (.npy, .safetensors or a CLAM/TRIDENT per-slide .h5, [N, n_chan_in] float32) read from disk chunk by chunk,
/// or a whole slide read tile by tile (<see cref="PredictionInputs"/> tells them apart). Whatever the input, IPS
/// selects M patches in evaluation mode and one forward pass gives the per-task probabilities and the attention on
/// each selected patch.
/// </summary>
public sealed class Predictor : IDisposable
{
    private readonly IpsNet _net;
    private readonly IterativePatchSelector _selector;
    private readonly Device _device;
    private readonly IpsConfig _config;
    private readonly PredictionPreprocessing _preprocessing;
    private readonly string _weights;
    private PredictionInputs? _inputs;

    /// <summary>Builds the network of <paramref name="config"/> and loads <paramref name="weights"/> into it.</summary>
    /// <param name="config">The model's config.</param>
    /// <param name="weights">A PyTorch state_dict (.pt/.pth), a .safetensors file, or a training checkpoint (.ckpt).</param>
    /// <param name="device">Where to run.</param>
    public Predictor(IpsConfig config, string weights, Device device)
    {
        ArgumentNullException.ThrowIfNull(config);
        _device = device;
        _weights = weights;
        _net = ModelWeights.Load(config, weights);
        // A checkpoint carries the config training recorded, with the encoder of its features (--encoder and the
        // encoder a feature file records are checked against it) and the class names.
        _config = ModelWeights.WithClassNames(TrainedEncoder.Of(config, weights), weights);
        try
        {
            _preprocessing = PredictionPreprocessing.For(config, weights);
        }
        catch
        {
            _net.Dispose();
            throw;
        }
        _net.to(device);
        _net.eval();
        _selector = new IterativePatchSelector(_net);
    }

    /// <summary>How slide inputs are recognised and tiled.</summary>
    public SlideInputOptions SlideOptions { get; init; } = new();

    /// <summary>
    /// Why <c>--pool</c> <paramref name="poolOption"/> cannot give the features this model was trained on (the pooling
    /// its config or checkpoint records), or null when it can.
    /// </summary>
    public string? PoolOptionConflict(string? poolOption) => TrainedEncoder.PoolOptionConflict(_config, poolOption);

    /// <summary>What to tell the user once before the predictions: how the test-time preprocessing was chosen when the model does not record it.</summary>
    public IReadOnlyList<string> Notes => _preprocessing.Note is { } note ? [note] : [];

    /// <summary>
    /// Predicts one input; writes an attention picture into <paramref name="attentionDirectory"/> for images and slides
    /// when given, its colours scaled to the input's own highest score.
    /// </summary>
    public Prediction Predict(string input, string? attentionDirectory = null)
    {
        using var opened = Inputs.Open(input);
        var described = opened.Describe(Run(input, opened.Patches));
        return attentionDirectory is null ? described : opened.DrawAttention(described, attentionDirectory, Labels(described, scaleMax: null));
    }

    /// <summary>
    /// Writes the attention picture of <paramref name="prediction"/> (from <see cref="Predict"/> on this predictor)
    /// into <paramref name="directory"/>, its colour scale topped at <paramref name="scaleMax"/> (null: the
    /// prediction's own highest score): one scale for the pictures of several inputs makes them comparable.
    /// </summary>
    /// <returns><paramref name="prediction"/> with the paths of the picture and, for a slide, its heat map TIFF; unchanged for a feature matrix, which has none.</returns>
    public Prediction DrawAttention(Prediction prediction, string directory, float? scaleMax)
    {
        ArgumentNullException.ThrowIfNull(prediction);
        return Inputs.DrawAttention(prediction, directory, Labels(prediction, scaleMax));
    }

    // Created at the first input, when SlideOptions (an init property) has its value.
    private PredictionInputs Inputs => _inputs ??= new PredictionInputs(_config, _preprocessing.Preprocessing, SlideOptions, _device);

    // The picture's title: the input, what was predicted per task, and the model.
    private AttentionLabels Labels(Prediction prediction, float? scaleMax) => new()
    {
        Title =
        [
            Path.GetFileName(prediction.Input),
            string.Join("; ", prediction.Probabilities.Select(task => PredictionChecks.Describe(_config, task.Key, task.Value, prediction.Decisions))),
            $"model {Path.GetFileName(_weights)}",
        ],
        ScaleMax = scaleMax,
    };

    // IPS and the forward pass, the same for every kind of input: the probabilities, and the selected patches by
    // index with the attention the forward pass gave them.
    private Prediction Run(string input, IPatchSource source)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        // A fixed generator: with shuffle on, ties still break the same way on every call.
        using var generator = new Generator((ulong)_config.Seed);
        using var selection = _selector.Select(new[] { source }, _device, generator);

        var (outputs, attention) = _net.ForwardWithAttention(selection.Patches, selection.PositionalEncoding);
        var probabilities = outputs.ToDictionary(kv => kv.Key, kv => kv.Value[0].cpu().data<float>().ToArray());
        PredictionChecks.RequireFinite(input, probabilities, source);

        // The aggregator's attention on the selected patches: [1, H, n_token, M] -> [M].
        var scores = attention.mean(new long[] { 1, 2 })[0].cpu().data<float>().ToArray();
        var indices = selection.Indices[0].cpu().data<long>().ToArray();
        var selected = indices
            .Select((index, i) => new SelectedPatch(index, scores[i], Box: null))
            .OrderBy(p => p.Index)
            .ToList();
        return new Prediction(input, source.Count, probabilities, selected, AttentionMap: null)
        {
            Classes = PredictionChecks.Classes(_config, probabilities),
            Decisions = PredictionChecks.Decisions(_config, probabilities),
            Predicted = PredictionChecks.Named(_config, probabilities),
        };
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _net.Dispose();
        _inputs?.Dispose();
    }
}
