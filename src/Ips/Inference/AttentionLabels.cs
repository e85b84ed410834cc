namespace Ips.Inference;

/// <summary>What an attention picture states besides its colours.</summary>
public sealed record AttentionLabels
{
    /// <summary>Title lines: the input's name, the predicted class and probability per task, the model file.</summary>
    public IReadOnlyList<string> Title { get; init; } = [];

    /// <summary>
    /// The score at the top of the colour scale; null: the picture's own highest score. <c>ips predict</c> gives the
    /// highest score of all its inputs, so that an input with weak attention looks calm next to a strong one.
    /// </summary>
    public float? ScaleMax { get; init; }
}
