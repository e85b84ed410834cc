using System.Text.Json;
using System.Text.Json.Serialization;
using Ips.IO;

namespace Ips.Inference;

/// <summary>
/// The scores that <c>ips evaluate --out</c> writes: <c>{"split", "examples", "weights", "tasks": {name: {"metric",
/// "value", "loss"}}}</c>, tasks in the config's order; a metric that is undefined (an AUC without both classes) is
/// written as <c>NaN</c>.
/// </summary>
/// <param name="Split"><c>test</c> or <c>train</c>.</param>
/// <param name="Examples">The split's number of examples.</param>
/// <param name="Weights">The full path of the weights evaluated.</param>
/// <param name="Tasks">Per task name, its metric and loss.</param>
public sealed record EvaluationDocument(string Split, int Examples, string Weights, IReadOnlyDictionary<string, TaskEvaluation> Tasks)
{
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>The document as JSON text.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Writes <see cref="ToJson"/> to <paramref name="path"/> atomically.</summary>
    public void Write(string path) => AtomicFile.Write(path, temporary => File.WriteAllText(temporary, ToJson()));
}

/// <summary>One task's scores in an <see cref="EvaluationDocument"/>.</summary>
/// <param name="Metric">The metric's name (<c>accuracy</c>, <c>multilabel_accuracy</c> or <c>auc</c>).</param>
/// <param name="Value">The metric's value.</param>
/// <param name="Loss">The mean loss.</param>
public sealed record TaskEvaluation(string Metric, double Value, double Loss);
