using System.ComponentModel;
using System.Globalization;
using Ips.Data.Camelyon16;
using Ips.IO;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Ips.Cli.Commands;

/// <summary>Options of <c>ips data camelyon16 labels</c>.</summary>
public sealed class Camelyon16LabelsSettings : PlainSettings
{
    [CommandArgument(0, "<DIR>")]
    [Description("The CAMELYON16 slides (training/normal, training/tumor, testing/images) or a folder of their .h5 feature files; searched recursively.")]
    public string Directory { get; init; } = "";

    [CommandOption("--reference <FILE>")]
    [Description("The challenge's reference.csv with the test labels (test_001,Tumor,Macro,...); default: one found under DIR.")]
    public string? Reference { get; init; }

    [CommandOption("-o|--out <FILE>")]
    [Description("Labels CSV to write (slide_id,label,split); default DIR/labels.csv.")]
    public string? Out { get; init; }
}

/// <summary><c>ips data camelyon16 labels DIR</c>: the labels CSV of the CAMELYON16 slides found under DIR.</summary>
public sealed class Camelyon16LabelsCommand : Command<Camelyon16LabelsSettings>
{
    /// <inheritdoc />
    protected override int Execute(CommandContext context, Camelyon16LabelsSettings settings, CancellationToken cancellationToken)
    {
        var labels = SlideLabels.FromCamelyon16(settings.Directory, settings.Reference);
        var path = settings.Out ?? Path.Combine(settings.Directory, "labels.csv");
        SlideLabels.Write(path, labels);
        var counts = labels.GroupBy(SlideLabels.SplitOf).OrderByDescending(g => g.Key)
            .Select(g => string.Create(CultureInfo.InvariantCulture, $"{g.Key}: {g.Count(l => l.Label == 1)} tumour, {g.Count(l => l.Label == 0)} normal"));
        AnsiConsole.MarkupLine($"wrote {labels.Count} slide labels ({Markup.Escape(string.Join("; ", counts))}) to [blue]{Markup.Escape(path)}[/]");
        return 0;
    }
}

/// <summary>Options of <c>ips data camelyon16 synthetic</c>.</summary>
public sealed class Camelyon16SyntheticSettings : PlainSettings
{
    [CommandOption("-o|--out <DIR>")]
    [Description("Folder for the cohort, in the challenge's layout (training/normal, training/tumor, training/lesion_annotations, testing/images, testing/reference.csv).")]
    public string? Out { get; init; }

    [CommandOption("--slides <N>")]
    [Description("Training slides per class: N normal_* and N tumor_*.")]
    [DefaultValue(8)]
    public int Slides { get; init; } = 8;

    [CommandOption("--test <N>")]
    [Description("Test slides test_*, every other one with tumour (default: --slides).")]
    public int? Test { get; init; }

    [CommandOption("--size <PX>")]
    [Description("Level-0 side of each slide in pixels.")]
    [DefaultValue(2048)]
    public int Size { get; init; } = 2048;

    [CommandOption("--seed <S>")]
    [Description("The same seed writes the same cohort.")]
    [DefaultValue(0)]
    public int Seed { get; init; }

    /// <inheritdoc />
    public override ValidationResult Validate() =>
        Out is null ? ValidationResult.Error("--out DIR is required.") : ValidationResult.Success();
}

/// <summary>
/// <c>ips data camelyon16 synthetic</c>: a generated mini cohort (pyramidal TIFF slides, ASAP annotations,
/// reference.csv) for running the pipeline of docs/camelyon16.md end to end without the real data set.
/// </summary>
public sealed class Camelyon16SyntheticCommand : Command<Camelyon16SyntheticSettings>
{
    /// <inheritdoc />
    protected override int Execute(CommandContext context, Camelyon16SyntheticSettings settings, CancellationToken cancellationToken)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var progress = new SynchronousProgress<CohortSlide>(slide =>
            Console.WriteLine($"  {slide.SlideId}{(slide.Tumour ? " (tumour)" : "")}: {slide.Path}"));
        var slides = SyntheticCohort.Write(settings.Out!, settings.Slides, settings.Test ?? settings.Slides, settings.Size, settings.Seed, progress);
        AnsiConsole.MarkupLine(CultureInfo.InvariantCulture, "wrote {0} generated slides ({1} with tumour) to [blue]{2}[/] in {3:F1} s",
            slides.Count, slides.Count(s => s.Tumour), Markup.Escape(settings.Out!), clock.Elapsed.TotalSeconds);
        return 0;
    }
}
