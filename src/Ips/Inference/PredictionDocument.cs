using System.Text.Json;
using System.Text.Json.Serialization;
using Ips.IO;

namespace Ips.Inference;

/// <summary>
/// The JSON that <c>ips predict</c> prints or writes: an array with one entry per input in the order given, keys in
/// snake_case (<c>input</c>, <c>patch_count</c>, <c>probabilities</c>, <c>selected</c>, <c>attention_map</c>,
/// <c>classes</c>, <c>predicted</c> (class names with probabilities, where the config names classes), <c>decisions</c>
/// (sigmoid tasks), <c>tumour</c>, <c>heat_map</c> (<c>path</c>, <c>cell_size</c>, <c>scale_max</c>); <c>{"input", "error"}</c>
/// for a failed input), absent values left out.
/// </summary>
/// <param name="Outcomes">Per input, its prediction or why it failed.</param>
public sealed record PredictionDocument(IReadOnlyList<PredictionOutcome> Outcomes)
{
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>The inputs that could not be predicted.</summary>
    public IReadOnlyList<FailedPrediction> Failures => [.. Outcomes.OfType<FailedPrediction>()];

    /// <summary>The document as JSON text.</summary>
    public string ToJson() => JsonSerializer.Serialize(Outcomes, Json);

    /// <summary>Writes <see cref="ToJson"/> to <paramref name="path"/> atomically.</summary>
    public void Write(string path) => AtomicFile.Write(path, temporary => File.WriteAllText(temporary, ToJson()));
}
