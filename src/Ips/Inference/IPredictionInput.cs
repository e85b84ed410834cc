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

    /// <summary>
    /// <paramref name="prediction"/> with what the input knows of its selected patches (pixel boxes, tumour fractions)
    /// and, where it has a picture and <paramref name="attentionDirectory"/> is given, the attention picture written there.
    /// </summary>
    Prediction Describe(Prediction prediction, string? attentionDirectory);
}
