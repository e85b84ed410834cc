using System.ComponentModel;
using System.Globalization;
using Ips.Inference;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Ips.Cli.Commands;

/// <summary>Options of <c>ips evaluate</c>.</summary>
public sealed class EvaluateSettings : ModelSettings
{
    [CommandOption("-w|--weights <FILE>")]
    [Description("Model weights: a PyTorch state_dict (.pt/.pth), .safetensors, or a training checkpoint (.ckpt).")]
    public string? Weights { get; init; }

    [CommandOption("--split <SPLIT>")]
    [Description("test (default) or train.")]
    [DefaultValue("test")]
    public string Split { get; init; } = "test";

    [CommandOption("--skip-bad")]
    [Description("Your own images: leave out the images the data check finds problems with (each is named) instead of refusing.")]
    public bool SkipBad { get; init; }

    [CommandOption("-o|--out <FILE>")]
    [Description("Also write the scores as JSON: {\"split\", \"examples\", \"weights\", \"tasks\": {name: {\"metric\", \"value\", \"loss\", \"perClass\"}}}.")]
    public string? Out { get; init; }

    /// <inheritdoc />
    public override ValidationResult Validate() =>
        Weights is null ? ValidationResult.Error("--weights is required.")
        : Split is not ("test" or "train") ? ValidationResult.Error($"--split {Split}: expected test or train.")
        : ValidationResult.Success();
}

/// <summary><c>ips evaluate</c>: loss and metric per task of a trained model on the config's data set.</summary>
public sealed class EvaluateCommand : Command<EvaluateSettings>
{
    /// <inheritdoc />
    protected override int Execute(CommandContext context, EvaluateSettings settings, CancellationToken cancellationToken)
    {
        var scores = ModelEvaluation.Run(settings.LoadConfig(), settings.Weights!, train: settings.Split == "train", settings.ResolveDevice(), settings.SkipBad);
        var table = new Table().AddColumn("task").AddColumn("metric").AddColumn("value").AddColumn("loss");
        foreach (var (task, score) in scores.Tasks)
        {
            table.AddRow(task, score.Metric,
                score.Value.ToString("F4", CultureInfo.InvariantCulture),
                score.Loss.ToString("F4", CultureInfo.InvariantCulture));
        }
        AnsiConsole.MarkupLine(CultureInfo.InvariantCulture, "{0} split: {1} images", scores.Split, scores.Examples);
        AnsiConsole.Write(table);
        foreach (var (task, score) in scores.Tasks)
        {
            if (score.PerClass is { } perClass)
            {
                WritePerClass(task, perClass);
            }
        }
        if (settings.Out is { } path)
        {
            scores.Write(path);
            AnsiConsole.MarkupLine($"scores written to [blue]{Markup.Escape(path)}[/]");
        }
        return 0;
    }

    // Per-class accuracy and the confusion matrix, rows the true class, columns the predicted one.
    private static void WritePerClass(string task, ClassResults results)
    {
        string Number(double value) => double.IsNaN(value) ? "n/a" : value.ToString("F4", CultureInfo.InvariantCulture);
        AnsiConsole.MarkupLine(CultureInfo.InvariantCulture, "task {0}: balanced accuracy {1}", Markup.Escape(task), Number(results.BalancedAccuracy));
        var table = new Table().AddColumn("true \\ predicted");
        foreach (var name in results.Classes)
        {
            table.AddColumn(Markup.Escape(name));
        }
        table.AddColumn("images").AddColumn("accuracy");
        for (var t = 0; t < results.Classes.Count; t++)
        {
            var row = results.Confusion[t];
            table.AddRow([Markup.Escape(results.Classes[t]), .. row.Select(n => n.ToString(CultureInfo.InvariantCulture)),
                row.Sum().ToString(CultureInfo.InvariantCulture), Number(results.Accuracy[results.Classes[t]])]);
        }
        AnsiConsole.Write(table);
    }
}
