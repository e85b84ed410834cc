using System.ComponentModel;
using System.Globalization;
using Ips.Configuration;
using Ips.Data;
using Ips.Data.OwnImages;
using Ips.Training;
using Spectre.Console.Cli;

namespace Ips.Cli.Commands;

/// <summary>Options of <c>ips config check</c>.</summary>
public sealed class ConfigCheckSettings : PlainSettings
{
    [CommandArgument(0, "<CONFIG>")]
    [Description("YAML config with the official keys (configs/*.yml).")]
    public string Config { get; init; } = "";

    [CommandOption("--set <KEY=VALUE>")]
    [Description("Override a config key, e.g. --set lr=0.0005 --set M=50; repeatable.")]
    public string[] Set { get; init; } = [];
}

/// <summary><c>ips config check</c>: validates a config, prints it resolved, and opens the data set it names.</summary>
public sealed class ConfigCheckCommand : Command<ConfigCheckSettings>
{
    /// <inheritdoc />
    protected override int Execute(CommandContext context, ConfigCheckSettings settings, CancellationToken cancellationToken)
    {
        return ConfigReport.Write(ConfigLoader.Load(settings.Config, settings.Set)) == 0 ? 0 : 1;
    }
}

/// <summary>What <c>ips config check</c> and <c>ips train --dry-run</c> print: the resolved config and its data set.</summary>
internal static class ConfigReport
{
    /// <summary>
    /// Prints <paramref name="config"/> as the YAML a run would store, then opens both splits of its data set and
    /// reports their sizes, the examples per class where the data set names classes, every problem of a data set that
    /// checks its images (one line each) and the patches of the first training example. Throws as a run would on a
    /// data set it cannot open at all.
    /// </summary>
    /// <returns>The number of problems found in the data.</returns>
    public static int Write(IpsConfig config)
    {
        Console.Out.Write(ConfigLoader.ToYaml(config));
        Console.Out.WriteLine($"# config {config.Source}: valid");
        var train = DatasetCatalog.Open(config, train: true, skipBad: true);
        var test = DatasetCatalog.Open(config, train: false, skipBad: true);
        Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"# data set {Path.GetFullPath(config.DataDir)} ({DatasetName(train)}): {train.Count} training, {test.Count} test examples"));
        var problems = WriteProblems(train, test);
        if (train.Count > 0)
        {
            using var sample = train.Load(0, train: false);
            var layout = sample.Grid is { } grid
                ? string.Create(CultureInfo.InvariantCulture, $" ({grid.Cols} x {grid.Rows} patches of {grid.PatchWidth} x {grid.PatchHeight} pixels in a {grid.ImageWidth} x {grid.ImageHeight} image, width x height)")
                : "";
            Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"# first training example '{sample.Id}': {sample.Patches.Count} patches{layout}, N {config.N?.ToString(CultureInfo.InvariantCulture) ?? "from the data"}, M {config.M}, I {config.I}"));
        }
        return problems;
    }

    /// <summary>
    /// For your own images: the images per class of each split, and every problem found as the splits opened, one
    /// line each; returns how many problems there are.
    /// </summary>
    public static int WriteProblems(IIpsDataset train, IIpsDataset test)
    {
        if (train is OwnImagesDataset own && test is OwnImagesDataset ownTest)
        {
            foreach (var (task, classes) in own.Listing.Classes)
            {
                var (trainCounts, testCounts) = (own.CountPerClass()[task], ownTest.CountPerClass()[task]);
                Console.Out.WriteLine($"# task {task}: " + string.Join(", ", classes.Select((name, i) =>
                    string.Create(CultureInfo.InvariantCulture, $"{name} {trainCounts[i]} train / {testCounts[i]} test"))));
            }
        }
        var problems = new[] { train, test }.OfType<ICheckedDataset>().SelectMany(d => d.Problems).ToList();
        if (problems.Count > 0)
        {
            Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"# {problems.Count} problem(s) in the data; ips train refuses them, ips train --skip-bad leaves those images out:"));
            foreach (var problem in problems)
            {
                Console.Out.WriteLine($"problem: {problem}");
            }
        }
        return problems.Count;
    }

    /// <summary>A run directory a run would use, and whether it already holds a run.</summary>
    public static void WriteRunDirectory(string directory)
    {
        var state = File.Exists(Path.Combine(directory, TrainingRun.LastCheckpoint)) ? $"holds {TrainingRun.LastCheckpoint}"
            : Directory.Exists(directory) ? "exists, no checkpoint" : "would be created";
        Console.Out.WriteLine($"# run directory {Path.GetFullPath(directory)}: {state}");
    }

    private static string DatasetName(IIpsDataset dataset) => dataset.GetType().Name.Replace("Dataset", "", StringComparison.Ordinal);
}
