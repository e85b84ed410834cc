using System.Text.Json.Serialization;
using Ips.Patches;

namespace Ips.Inference;

// "input" leads every entry of the JSON, as scripts read it; System.Text.Json would write it after a derived record's
// own properties without the JsonPropertyOrder.
/// <summary>What became of one input of <c>ips predict</c>: a <see cref="Prediction"/>, or a <see cref="FailedPrediction"/>.</summary>
/// <param name="Input">The input file.</param>
[JsonDerivedType(typeof(Prediction))]
[JsonDerivedType(typeof(FailedPrediction))]
public abstract record PredictionOutcome([property: JsonPropertyOrder(-1)] string Input);

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
    string? AttentionMap) : PredictionOutcome(Input)
{
    /// <summary>Per task name, the predicted class: an index for softmax tasks, the indices with p &gt;= 0.5 for sigmoid ones.</summary>
    public IReadOnlyDictionary<string, object>? Classes { get; init; }

    /// <summary>
    /// Per task whose config records class names (your own images): the predicted class by name with its probability
    /// for softmax, the classes with p &gt;= 0.5 for sigmoid, highest first.
    /// </summary>
    public IReadOnlyDictionary<string, IReadOnlyList<NamedClass>>? Predicted { get; init; }

    /// <summary>Per sigmoid task, the decision in words: <c>positive</c> (one bool, or one per output) at <c>threshold</c>.</summary>
    public IReadOnlyDictionary<string, SigmoidDecision>? Decisions { get; init; }

    /// <summary>For a slide with annotations: how many selected tiles lie in annotated tumour.</summary>
    public TumourOverlap? Tumour { get; init; }

    /// <summary>For a slide with an attention picture: the heat map TIFF aligned to the slide (<see cref="HeatMapTiff"/>).</summary>
    public HeatMapFile? HeatMap { get; init; }
}

/// <summary>A predicted class by name.</summary>
/// <param name="Class">The class name, as the config's <c>classes</c> lists it.</param>
/// <param name="Probability">The model's probability for it.</param>
public sealed record NamedClass(string Class, float Probability);

/// <summary>The decision of a sigmoid task.</summary>
/// <param name="Positive">For a one-output task, whether it is positive; for several outputs, one bool per output.</param>
/// <param name="Threshold">The probability from which an output counts as positive.</param>
public sealed record SigmoidDecision(object Positive, float Threshold);

/// <summary>An input that could not be predicted (with <c>--keep-going</c>), and why.</summary>
/// <param name="Input">The input file.</param>
/// <param name="Error">The message naming what is wrong with it.</param>
public sealed record FailedPrediction(string Input, string Error) : PredictionOutcome(Input);

/// <summary>One selected patch of a prediction.</summary>
/// <param name="Index">Original (row-major) patch index.</param>
/// <param name="Score">Attention of the aggregator on this patch in the forward pass, averaged over heads and tokens.</param>
/// <param name="Box">Pixel box of the patch in the image; null for feature matrices.</param>
public sealed record SelectedPatch(long Index, float Score, PixelBox? Box)
{
    /// <summary>For a slide with annotations: the fraction of the tile's area inside annotated tumour.</summary>
    public float? TumourFraction { get; init; }
}

/// <summary>How the selected tiles of a slide meet its annotated tumour.</summary>
/// <param name="Annotations">The ASAP XML file read; null for a slide without one in the annotations folder (no tumour).</param>
/// <param name="Selected">Selected tiles.</param>
/// <param name="InTumour">Selected tiles whose tumour fraction is at least <paramref name="MinFraction"/>.</param>
/// <param name="MinFraction">The fraction of a tile's area inside tumour that counts it as a tumour tile.</param>
public sealed record TumourOverlap(string? Annotations, int Selected, int InTumour, double MinFraction);
