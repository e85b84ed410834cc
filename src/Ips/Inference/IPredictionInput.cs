using Ips.Patches;

namespace Ips.Inference;

/// <summary>
/// One input of a prediction, opened: the patches IPS reads, and what this kind of input knows of the patches it
/// selects. The predictor runs selection and the forward pass on <see cref="Patches"/> the same way for an image, a
/// feature matrix and a slide; <see cref="Describe"/> adds the rest. Owns what it opened.
/// </summary>
internal interface IPredictionInput : IDisposable
{
    /// <summary>The input's patches: image patches, feature rows, or a slide's tiles (embedded as read for a feature config).</summary>
    IPatchSource Patches { get; }

    /// <summary><paramref name="prediction"/> with what the input knows of its selected patches (pixel boxes, tumour fractions).</summary>
    Prediction Describe(Prediction prediction);

    /// <summary>
    /// Writes the attention picture of <paramref name="described"/> (a prediction <see cref="Describe"/> gave) into
    /// <paramref name="directory"/>, and for a slide its heat map TIFF; returns <paramref name="described"/> with their
    /// paths, unchanged for an input without a picture (a feature matrix).
    /// </summary>
    Prediction DrawAttention(Prediction described, string directory, AttentionLabels labels);
}
