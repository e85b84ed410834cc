using System.ComponentModel;
using System.Globalization;
using Ips.Data;
using Ips.IO;
using Ips.Inference;
using Ips.Training;
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

    [CommandOption("-o|--out <FILE>")]
    [Description("Also write the scores as JSON: {\"split\", \"examples\", \"weights\", \"tasks\": {name: {\"metric\", \"value\", \"loss\"}}}.")]
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
        var config = settings.LoadConfig();
        var data = DatasetCatalog.Open(config, train: settings.Split == "train");
        using var trainer = new Trainer(config, settings.ResolveDevice());
        Predictor.LoadWeights(trainer.Net, settings.Weights!);
        var scores = trainer.Evaluate(data);
        var table = new Table().AddColumn("task").AddColumn("metric").AddColumn("value").AddColumn("loss");
        foreach (var task in config.Tasks)
        {
            table.AddRow(task.Name, task.Metric,
                scores[task.Name].Metric.ToString("F4", CultureInfo.InvariantCulture),
                scores[task.Name].Loss.ToString("F4", CultureInfo.InvariantCulture));
        }
        AnsiConsole.MarkupLine(CultureInfo.InvariantCulture, "{0} split: {1} images", settings.Split, data.Count);
        AnsiConsole.Write(table);
        if (settings.Out is { } path)
        {
            var tasks = config.Tasks.ToDictionary(t => t.Name, t => new { metric = t.Metric, value = scores[t.Name].Metric, loss = scores[t.Name].Loss });
            var json = System.Text.Json.JsonSerializer.Serialize(
                new { split = settings.Split, examples = data.Count, weights = Path.GetFullPath(settings.Weights!), tasks },
                new System.Text.Json.JsonSerializerOptions { WriteIndented = true, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals });
            AtomicFile.Write(path, temporary => File.WriteAllText(temporary, json));
            AnsiConsole.MarkupLine($"scores written to [blue]{Markup.Escape(path)}[/]");
        }
        return 0;
    }
}
