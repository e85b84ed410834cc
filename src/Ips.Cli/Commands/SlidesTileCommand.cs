using System.ComponentModel;
using System.Globalization;
using Ips.Cli.Hosting;
using Ips.IO;
using Ips.Slides;
using Ips.Slides.Tiling;
using Ips.Slides.Tissue;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Ips.Cli.Commands;

/// <summary>Options of <c>ips slides tile</c>.</summary>
public sealed class SlidesTileSettings : CohortSettings
{
    [CommandArgument(0, "<SLIDE_OR_DIR>")]
    [Description("Slide files, or folders searched (with their subfolders) for .tif, .tiff, .svs, .ndpi, .mrxs, .scn, .bif, ... files.")]
    public string[] Inputs { get; init; } = [];

    [CommandOption("-o|--out <DIR>")]
    [Description("Output folder: NAME.h5 (tile coordinates, CLAM/TRIDENT layout) and NAME.qc.png per slide.")]
    public string? Out { get; init; }

    [CommandOption("--level <L>")]
    [Description("Pyramid level the tiles are cut from (default 0: full resolution). Not with --mpp or --magnification.")]
    public int? Level { get; init; }

    [CommandOption("--mpp <UM>")]
    [Description("Cut tiles at this many microns per pixel instead of at a level (e.g. 0.5): read from the coarsest level at least as fine, resized with an antialiased filter.")]
    public double? Mpp { get; init; }

    [CommandOption("--magnification <X>")]
    [Description("Cut tiles at this objective magnification instead of at a level (e.g. 20; level 0's is binned from its microns per pixel, as TRIDENT does).")]
    public double? Magnification { get; init; }

    [CommandOption("--mpp-level0 <UM>")]
    [Description("Microns per pixel of level 0, for slides whose file does not record it (with --mpp or --magnification).")]
    public double? MppLevel0 { get; init; }

    [CommandOption("--otsu-level <L>")]
    [Description("Level whose histogram gives the Otsu threshold (default: --level, or 0 with --mpp/--magnification). A coarser level is faster and close.")]
    public int? OtsuLevel { get; init; }

    [CommandOption("--tile-size <PX>")]
    [Description("Tile side in pixels of --level (or of the --mpp / --magnification resolution).")]
    [DefaultValue(256)]
    public int TileSize { get; init; } = 256;

    [CommandOption("--overlap <PX>")]
    [Description("Pixels (of --level or the resolution) shared by neighbouring tiles.")]
    [DefaultValue(0)]
    public int Overlap { get; init; }

    [CommandOption("--fg-perc-thresh <F>")]
    [Description("Least fraction of a tile's pixels that must be tissue (0.01 = 1 %).")]
    [DefaultValue(0.01)]
    public double FgPercThresh { get; init; } = 0.01;

    [CommandOption("--annotations <DIR>")]
    [Description("Folder of ASAP XML lesion annotations, NAME.xml per slide; tiles touching tumour are kept and get their tumour fraction.")]
    public string? Annotations { get; init; }

    [CommandOption("--geojson <DIR>")]
    [Description("Also write <name>.geojson per slide tiled now: its tissue tiles as QuPath detections (level-0 pixels) with tissue and tumour fractions.")]
    public string? GeoJson { get; init; }

    [CommandOption("--slide-reader <READER>")]
    [Description("auto (managed TIFF reader, OpenSlide for other formats), tiff or openslide.")]
    [DefaultValue("auto")]
    public string SlideReader { get; init; } = "auto";

    /// <inheritdoc />
    public override ValidationResult Validate() =>
        Inputs.Length == 0 ? ValidationResult.Error("give at least one slide or folder of slides.")
        : string.IsNullOrWhiteSpace(Out) ? ValidationResult.Error("--out DIR is required: the folder for the coordinates and QC pictures.")
        : CohortError() is { } error ? ValidationResult.Error(error)
        : GeoJson is not null && File.Exists(GeoJson) ? ValidationResult.Error($"--geojson {GeoJson} is a file; --geojson takes a folder (created when missing).")
        : SlideOptionChecks.Resolution(Level, Mpp, Magnification, MppLevel0) is { Successful: false } problem ? problem
        : SlideOptionChecks.Tiling(Level ?? 0, OtsuLevel, TileSize, Overlap, FgPercThresh, Shard, SlideReader, Out);

    /// <summary>The tiling parameters given.</summary>
    public TilingOptions ToOptions() => new()
    {
        Level = Level ?? 0,
        TargetMpp = Mpp,
        TargetMagnification = Magnification,
        Level0Mpp = MppLevel0,
        OtsuLevel = OtsuLevel,
        TileSize = TileSize,
        Overlap = Overlap,
        FgPercThresh = FgPercThresh,
    };
}

/// <summary>
/// <c>ips slides tile</c>: finds the tissue of each slide and writes its tile coordinates and a QC picture; resumable
/// (finished slides are skipped) and shardable. A slide that cannot be read is reported and the others still run.
/// </summary>
public sealed class SlidesTileCommand : Command<SlidesTileSettings>
{
    /// <inheritdoc />
    protected override int Execute(CommandContext context, SlidesTileSettings settings, CancellationToken cancellationToken)
    {
        var options = settings.ToOptions();
        var reader = SlideOpener.ParseReader(settings.SlideReader);
        var failures = settings.Failures();
        if (settings.Annotations is { } annotations && !Directory.Exists(annotations))
        {
            throw new DirectoryNotFoundException($"--annotations {annotations}: folder not found");
        }
        var (slides, _, mode) = settings.Slides(settings.Inputs);
        AnsiConsole.MarkupLine(CultureInfo.InvariantCulture,
            "[bold]ips slides tile[/]: {0} slide(s){1}, {2}, tile {3}, overlap {4}, fg_perc_thresh {5}, out [blue]{6}[/]",
            slides.Count, Markup.Escape(mode),
            options.TargetMpp is { } mpp ? $"{mpp} um/px" : options.TargetMagnification is { } power ? $"magnification {power}" : $"level {options.Level}",
            options.TileSize, options.Overlap,
            options.FgPercThresh, Markup.Escape(settings.Out!));
        if (SlideInputs.TumourSlidesWithoutAnnotations(slides, settings.Annotations) is { } warning)
        {
            AnsiConsole.MarkupLine($"[yellow]warning:[/] {Markup.Escape(warning)}");
        }

        // Ctrl-C or SIGTERM stops at the next tile row or strip; the slide in progress leaves no file.
        using var signals = StopSignals.DroppingUnfinishedSlide(cancellationToken);
        var reports = new List<SlideTilingReport>();
        try
        {
            SlideTilingReport RunOne(string slide, IProgress<SlidePassProgress> progress)
            {
                signals.Token.ThrowIfCancellationRequested();
                var report = TileOne(slide, settings, options, reader, failures, progress, signals.Token);
                reports.Add(report);
                AnsiConsole.MarkupLine(StatusLine(report));
                return report;
            }
            if (TerminalOutput.IsPlain(settings.Plain))
            {
                RunPlain(slides, RunOne);
            }
            else
            {
                RunLive(slides, RunOne);
            }
        }
        catch (OperationCanceledException) when (signals.Token.IsCancellationRequested)
        {
            if (reports.Count > 0)
            {
                AnsiConsole.Write(Summary(reports));
            }
            AnsiConsole.MarkupLine(CultureInfo.InvariantCulture,
                "[yellow]stopped[/]: {0} of {1} slide(s) finished ({2} tiled now, {3} before{4}); the slide in progress left no file. Run the same command again to continue.",
                reports.Count(r => r.Status != SlideTilingStatus.Failed), slides.Count, reports.Count(r => r.Status == SlideTilingStatus.Done),
                reports.Count(r => r.Status == SlideTilingStatus.Skipped),
                reports.Any(r => r.Status == SlideTilingStatus.Failed) ? $", {reports.Count(r => r.Status == SlideTilingStatus.Failed)} failed" : "");
            return signals.ExitCode;
        }

        AnsiConsole.Write(Summary(reports));
        int failed = reports.Count(r => r.Status == SlideTilingStatus.Failed);
        if (failed > 0)
        {
            AnsiConsole.MarkupLine(CultureInfo.InvariantCulture, "[red]{0} of {1} slide(s) failed[/]; the others are done.", failed, reports.Count);
            return 1;
        }
        return 0;
    }

    private static SlideTilingReport TileOne(
        string slide, SlidesTileSettings settings, TilingOptions options, SlideReaderKind reader, FailureRetry failures,
        IProgress<SlidePassProgress> progress, CancellationToken cancel)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            return SlideTilingJob.Run(slide, settings.Out!, options, settings.Annotations, path => SlideOpener.Open(path, reader), progress, cancel, failures, settings.GeoJson);
        }
        catch (Exception error) when (error is InvalidDataException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            // The messages name the file already; keep only one line per slide.
            return new SlideTilingReport(slide, SlideTilingStatus.Failed, 0, 0, null, clock.Elapsed.TotalSeconds, error.Message);
        }
    }

    private static void RunPlain(List<string> slides, Func<string, IProgress<SlidePassProgress>, SlideTilingReport> run)
    {
        for (int i = 0; i < slides.Count; i++)
        {
            var name = Path.GetFileName(slides[i]);
            var last = DateTime.UtcNow;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[{i + 1}/{slides.Count}] {name}"));
            // A line at most every 10 s keeps logs short.
            run(slides[i], new SynchronousProgress<SlidePassProgress>(p =>
            {
                if (DateTime.UtcNow - last > TimeSpan.FromSeconds(10))
                {
                    last = DateTime.UtcNow;
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {name}: {Describe(p)}"));
                }
            }));
        }
    }

    private static void RunLive(List<string> slides, Func<string, IProgress<SlidePassProgress>, SlideTilingReport> run) =>
        AnsiConsole.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(context =>
            {
                var overall = context.AddTask("slides", maxValue: Math.Max(1, slides.Count));
                // Spectre refuses a task without a description; each slide replaces this one with its name.
                var current = context.AddTask("slide", maxValue: 1);
                foreach (var slide in slides)
                {
                    var name = Markup.Escape(Path.GetFileName(slide));
                    current.Description = name;
                    current.Value = 0;
                    run(slide, new SynchronousProgress<SlidePassProgress>(p =>
                    {
                        current.Description = $"{name}: {Describe(p)}";
                        current.MaxValue = p.Total;
                        current.Value = p.Done;
                    }));
                    overall.Increment(1);
                }
            });

    private static string Describe(SlidePassProgress p) => p.Phase == "otsu"
        ? string.Create(CultureInfo.InvariantCulture, $"Otsu histogram, strip {p.Done}/{p.Total}")
        : string.Create(CultureInfo.InvariantCulture, $"tiles, row {p.Done}/{p.Total}");

    private static string StatusLine(SlideTilingReport report)
    {
        var name = Markup.Escape(Path.GetFileName(report.Slide));
        return report.Status switch
        {
            SlideTilingStatus.Done => string.Create(CultureInfo.InvariantCulture,
                $"[green]done[/] {name}: {report.Tiles} tiles kept of {report.Examined}, threshold {report.Threshold:F2}, {report.Seconds:F1} s"),
            SlideTilingStatus.Skipped => string.Create(CultureInfo.InvariantCulture,
                $"[grey]skipped[/] {name}: finished before ({report.Tiles} tiles, threshold {report.Threshold:F2})"),
            SlideTilingStatus.Busy => $"[grey]skipped[/] {name}: being tiled by another process now ({Markup.Escape(report.Holder ?? "unknown")})",
            _ => $"[red]error:[/] {Markup.Escape(report.Error ?? "failed")}",
        };
    }

    private static Table Summary(List<SlideTilingReport> reports)
    {
        var table = new Table().Border(TableBorder.Simple)
            .AddColumns("slide", "status", "tiles", "examined", "threshold", "seconds");
        foreach (var r in reports)
        {
            table.AddRow(
                Markup.Escape(Path.GetFileName(r.Slide)),
                r.Status.ToString().ToLowerInvariant(),
                r.Status is SlideTilingStatus.Failed or SlideTilingStatus.Busy ? "-" : r.Tiles.ToString(CultureInfo.InvariantCulture),
                r.Status == SlideTilingStatus.Done ? r.Examined.ToString(CultureInfo.InvariantCulture) : "-",
                r.Threshold is { } t ? t.ToString("F2", CultureInfo.InvariantCulture) : "-",
                r.Seconds.ToString("F1", CultureInfo.InvariantCulture));
        }
        return table;
    }
}
