using System.Text.Json;
using System.Text.Json.Serialization;
using Ips.IO;
using Ips.Training;

namespace Ips.Inference;

/// <summary>
/// The scores that <c>ips evaluate --out</c> writes: <c>{"split", "examples", "weights", "tasks": {name: {"metric",
/// "value", "loss", "perClass"}}}</c>, tasks in the config's order, <c>perClass</c> (softmax tasks: <c>classes</c>,
/// <c>accuracy</c> per class name, <c>balancedAccuracy</c>, <c>confusion</c>, true class by row); a metric that is undefined (an AUC without both classes) is
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
public sealed record TaskEvaluation(string Metric, double Value, double Loss)
{
    /// <summary>For a softmax task, the results per class; null for a sigmoid task (left out of the JSON).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public ClassResults? PerClass { get; init; }
}

/// <summary>A softmax task's results per class, by class name.</summary>
/// <param name="Classes">The class names in output order.</param>
/// <param name="Accuracy">Per class name, the fraction of its examples predicted as it (NaN without examples).</param>
/// <param name="BalancedAccuracy">The mean per-class accuracy over the classes with examples.</param>
/// <param name="Confusion">True class by row, predicted class by column, in <paramref name="Classes"/> order.</param>
public sealed record ClassResults(IReadOnlyList<string> Classes, IReadOnlyDictionary<string, double> Accuracy, double BalancedAccuracy, int[][] Confusion)
{
    /// <summary>The results of <paramref name="matrix"/>.</summary>
    public static ClassResults Of(ConfusionMatrix matrix)
    {
        ArgumentNullException.ThrowIfNull(matrix);
        var accuracy = matrix.PerClassAccuracy();
        return new ClassResults(matrix.Classes, matrix.Classes.Select((name, i) => (name, i)).ToDictionary(c => c.name, c => accuracy[c.i]), matrix.BalancedAccuracy(), matrix.Counts);
    }
}
