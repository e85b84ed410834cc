using System.ComponentModel;
using System.Globalization;
using Ips.Data.Camelyon16;
using Ips.Features;
using Ips.IO;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Ips.Cli.Commands;

/// <summary>Options of <c>ips slides pack</c>.</summary>
public sealed class SlidesPackSettings : PlainSettings
{
    [CommandArgument(0, "<FEATURES_DIR>")]
    [Description("Folder of per-slide feature files <slide_id>.h5 (CLAM/TRIDENT layout: features, coords), e.g. from `ips slides features`.")]
    public string FeaturesDir { get; init; } = "";

    [CommandOption("--labels <CSV>")]
    [Description("Labels CSV (slide_id,label[,split]), e.g. from `ips data camelyon16 labels`.")]
    public string? Labels { get; init; }

    [CommandOption("--split <SPLIT>")]
    [Description("Pack only the slides of this split (train or test); default: every slide of the CSV.")]
    public string? Split { get; init; }

    [CommandOption("-o|--out <FILE>")]
    [Description("The HDF5 file to write (official IPS layout: one group per slide with img, pos, label), e.g. feat_train.hdf5.")]
    public string? Out { get; init; }

    [CommandOption("--no-gzip")]
    [Description("Store the features uncompressed (faster to read, larger) instead of gzip as the official files are.")]
    public bool NoGzip { get; init; }

    /// <inheritdoc />
    public override ValidationResult Validate() =>
        Labels is null ? ValidationResult.Error("--labels CSV is required.")
        : Out is null ? ValidationResult.Error("--out FILE is required.")
        : Split is not (null or "train" or "test") ? ValidationResult.Error($"--split '{Split}' must be train or test.")
        : ValidationResult.Success();
}

/// <summary><c>ips slides pack</c>: one official-layout HDF5 split file from per-slide feature files and their labels.</summary>
public sealed class SlidesPackCommand : Command<SlidesPackSettings>
{
    /// <inheritdoc />
    protected override int Execute(CommandContext context, SlidesPackSettings settings, CancellationToken cancellationToken)
    {
        var rows = SlideLabels.Read(settings.Labels!)
            .Where(row => settings.Split is null || SlideLabels.SplitOf(row) == settings.Split)
            .ToList();
        if (rows.Count == 0)
        {
            throw new InvalidDataException($"{settings.Labels}: no slides{(settings.Split is null ? "" : $" of split {settings.Split}")} to pack");
        }
        var missing = rows.Where(row => Camelyon16Dataset.FindSlideFile(settings.FeaturesDir, row.SlideId) is null).Select(row => row.SlideId).ToList();
        if (missing.Count > 0)
        {
            throw new FileNotFoundException(
                $"{settings.FeaturesDir}: no feature file for {missing.Count} slide(s) of {settings.Labels}: {string.Join(", ", missing.Take(5))}{(missing.Count > 5 ? ", ..." : "")}");
        }
        var encoder = PackedEncoder.Common([.. rows.Select(row => (row.SlideId, Camelyon16Dataset.FindSlideFile(settings.FeaturesDir, row.SlideId)!))]);
        var sources = new List<Hdf5FeatureSource>();
        try
        {
            var slides = rows.Select(row =>
            {
                var source = Hdf5FeatureSource.OpenSlideFile(Camelyon16Dataset.FindSlideFile(settings.FeaturesDir, row.SlideId)!);
                sources.Add(source);
                return new PackedSlide(row.SlideId, row.Label, source, source.ReadCoords());
            }).ToList();
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var progress = new SynchronousProgress<int>(done => Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"packed {done}/{slides.Count} slides")));
            Hdf5FeatureWriter.WriteSplitFile(settings.Out!, slides, gzip: !settings.NoGzip, progress, cancellationToken,
                encoder is null ? null : FeatureProvenance.EncoderAttributes(encoder));
            AnsiConsole.MarkupLine(CultureInfo.InvariantCulture, "wrote {0} slides ({1} tiles) to [blue]{2}[/] in {3:F1} s",
                slides.Count, slides.Sum(s => (long)s.Features.Count), Markup.Escape(settings.Out!), clock.Elapsed.TotalSeconds);
        }
        finally
        {
            foreach (var source in sources)
            {
                source.Dispose();
            }
        }
        return 0;
    }
}
