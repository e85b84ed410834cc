using System.Globalization;
using System.ComponentModel;
using Ips.Cli.Hosting;
using Ips.Inference;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Ips.Cli.Commands;

/// <summary>Options of <c>ips predict</c>.</summary>
public sealed class PredictSettings : ModelSettings
{
    [CommandArgument(0, "<INPUT>")]
    [Description("Images (PNG, JPEG, TIFF) or feature matrices (.npy, .safetensors holding one [N, n_chan_in] float32 array, or a CLAM/TRIDENT .h5 'features'), or whole slides.")]
    public string[] Inputs { get; init; } = [];

    [CommandOption("-w|--weights <FILE>")]
    [Description("Model weights: a PyTorch state_dict (.pt/.pth), .safetensors, or a training checkpoint (.ckpt).")]
    public string? Weights { get; init; }

    [CommandOption("-o|--out <FILE>")]
    [Description("Write the JSON here instead of standard output.")]
    public string? Out { get; init; }

    [CommandOption("--attention-dir <DIR>")]
    [Description("For images and slides, also write <name>.attention.png: the attention heat map with the selected patches outlined, a title, colour bar, scale bar and legend.")]
    public string? AttentionDir { get; init; }

    [CommandOption("--attention-scale <SCALE>")]
    [Description("Colours of the --attention-dir pictures: shared (one scale, topped by the highest attention of all inputs, so that weak attention looks calm) or slide (each picture topped by its own highest attention, for contrast).")]
    [DefaultValue("shared")]
    public string AttentionScale { get; init; } = "shared";

    [CommandOption("--geojson <DIR>")]
    [Description("Also write <name>.geojson per image or slide: the selected patches as QuPath annotations (level-0 pixels) with attention, rank and tumour fraction.")]
    public string? GeoJson { get; init; }

    [CommandOption("--asap <DIR>")]
    [Description("Also write <name>.xml per image or slide: the selected patches as ASAP annotations (group 'IPS selected', level-0 pixels).")]
    public string? Asap { get; init; }

    [CommandOption("--keep-going")]
    [Description("On a bad input, record its error in the JSON ({\"input\", \"error\"}) and go on with the others; the exit code is 1 when any input failed.")]
    public bool KeepGoing { get; init; }

    [CommandOption("--slide")]
    [Description("Treat every input as a whole-slide image (otherwise recognised by .svs, .ndpi, .mrxs, .scn, .bif, ... or a pyramidal .tif).")]
    public bool Slide { get; init; }

    [CommandOption("--coords <FILE>")]
    [Description("Slides: the tiles to use, from `ips slides tile` (or CLAM/TRIDENT .h5), instead of finding the tissue now.")]
    public string? Coords { get; init; }

    [CommandOption("--level <L>")]
    [Description("Slides: the level tiles are read from when the tissue is found now (default 0). Not with --mpp or --magnification.")]
    public int? Level { get; init; }

    [CommandOption("--mpp <UM>")]
    [Description("Slides: cut tiles at this many microns per pixel instead of at a level (e.g. 0.5), as `ips slides tile --mpp`.")]
    public double? Mpp { get; init; }

    [CommandOption("--magnification <X>")]
    [Description("Slides: cut tiles at this objective magnification instead of at a level (e.g. 20), as `ips slides tile --magnification`.")]
    public double? Magnification { get; init; }

    [CommandOption("--mpp-level0 <UM>")]
    [Description("Slides: microns per pixel of level 0, for slides whose file does not record it (with --mpp or --magnification).")]
    public double? MppLevel0 { get; init; }

    [CommandOption("--otsu-level <L>")]
    [Description("Slides: the level of the Otsu threshold (default: --level, or 0 with --mpp/--magnification).")]
    public int? OtsuLevel { get; init; }

    [CommandOption("--tile-size <PX>")]
    [Description("Slides: tile side in pixels of --level or of the --mpp / --magnification resolution (default: the config's patch_size).")]
    public int? TileSize { get; init; }

    [CommandOption("--slide-reader <READER>")]
    [Description("Slides: auto, tiff or openslide.")]
    [DefaultValue("auto")]
    public string SlideReader { get; init; } = "auto";

    [CommandOption("--encoder <FILE_DIR_OR_PRESET>")]
    [Description("Slides with a feature config (is_image: false): embed the tiles with this frozen encoder (byol.ckpt, torchvision resnet .pth, model folder or preset, as `ips slides features`) instead of pre-extracted features.")]
    public string? Encoder { get; init; }

    [CommandOption("--encoder-weights <FILE_OR_DIR>")]
    [Description("With a preset --encoder: its published weights file, or the folder holding it.")]
    public string? EncoderWeights { get; init; }

    [CommandOption("--pool <POOL>")]
    [Description("With a vision transformer --encoder: token, avg or token+avg instead of its config's, as the features were extracted.")]
    public string? Pool { get; init; }

    [CommandOption("--normalize <MODE>")]
    [Description("With --encoder: auto (as the encoder was trained), imagenet or none; as `ips slides features`.")]
    [DefaultValue("auto")]
    public string Normalisation { get; init; } = "auto";

    [CommandOption("--annotations <XML_OR_DIR>")]
    [Description("Slides: ASAP XML lesion annotations (a file, or a folder of NAME.xml); the JSON gives each selected tile's tumour fraction and how many have >= 0.5.")]
    public string? Annotations { get; init; }

    /// <summary>How slide inputs are recognised and tiled.</summary>
    public SlideInputOptions SlideOptions() => new()
    {
        ForceSlide = Slide, Coords = Coords, Level = Level ?? 0, OtsuLevel = OtsuLevel, TileSize = TileSize,
        TargetMpp = Mpp, TargetMagnification = Magnification, Level0Mpp = MppLevel0,
        Reader = Slides.SlideOpener.ParseReader(SlideReader), Encoder = Encoder, EncoderWeights = EncoderWeights, Pool = Pool, Normalisation = Normalisation, Annotations = Annotations,
    };

    /// <inheritdoc />
    public override ValidationResult Validate() =>
        Weights is null ? ValidationResult.Error("--weights is required.")
        : AttentionScale is not ("shared" or "slide") ? ValidationResult.Error($"--attention-scale must be shared or slide, got '{AttentionScale}'.")
        : GeoJson is not null && File.Exists(GeoJson) ? ValidationResult.Error($"--geojson {GeoJson} is a file; --geojson takes a folder (created when missing).")
        : Asap is not null && File.Exists(Asap) ? ValidationResult.Error($"--asap {Asap} is a file; --asap takes a folder (created when missing).")
        : Coords is not null && (Mpp is not null || Magnification is not null)
            ? ValidationResult.Error($"--coords {Coords} says how its tiles were cut; --mpp and --magnification are for slides tiled now, without --coords.")
        : SlideOptionChecks.Resolution(Level, Mpp, Magnification, MppLevel0) is { Successful: false } problem ? problem
        : SlideOptionChecks.Predict(Level ?? 0, OtsuLevel, TileSize, SlideReader, AttentionDir);
}

/// <summary><c>ips predict</c>: per-task probabilities and the selected patches of each input, as JSON.</summary>
public sealed class PredictCommand : Command<PredictSettings>
{
    /// <inheritdoc />
    protected override int Execute(CommandContext context, PredictSettings settings, CancellationToken cancellationToken)
    {
        // Before the model loads: a mistyped path is reported at once, as "not found" (exit 66), not as a wrong format.
        foreach (var input in settings.Inputs.Where(_ => !settings.KeepGoing))
        {
            RequireExists(input);
        }
        var config = settings.LoadConfig();
        using var predictor = new Predictor(config, settings.Weights!, settings.ResolveDevice()) { SlideOptions = settings.SlideOptions() };
        // A --pool the model was not trained on is wrong for every input: a usage error, before any input is opened.
        if (predictor.PoolOptionConflict(settings.Pool) is { } conflict)
        {
            throw new UsageException(conflict);
        }
        // Standard error: standard output may be the JSON itself.
        foreach (var note in predictor.Notes)
        {
            Console.Error.WriteLine(note);
        }
        List<PredictionOutcome> outcomes = [.. settings.Inputs.Select(input => PredictOne(predictor, input, settings))];
        // The pictures are drawn once every input is predicted: the shared scale is topped by the highest attention of all.
        if (settings.AttentionDir is { } pictures)
        {
            float? scaleMax = settings.AttentionScale == "slide"
                ? null
                : outcomes.OfType<Prediction>().SelectMany(p => p.Selected).Select(p => p.Score).DefaultIfEmpty(0).Max();
            outcomes = [.. outcomes.Select(o => o is Prediction p ? predictor.DrawAttention(p, pictures, scaleMax) : o)];
        }
        var predictions = outcomes.OfType<Prediction>().ToList();
        List<string> exports =
        [
            .. settings.GeoJson is { } geoJson ? predictions.Select(p => PredictionExports.WriteGeoJson(p, geoJson)).OfType<string>() : [],
            .. settings.Asap is { } asap ? predictions.Select(p => PredictionExports.WriteAsap(p, asap)).OfType<string>() : [],
        ];
        var document = new PredictionDocument(outcomes);
        if (settings.Out is { } path)
        {
            document.Write(path);
            AnsiConsole.MarkupLine($"wrote {document.Outcomes.Count} prediction(s) to [blue]{Markup.Escape(path)}[/]");
        }
        else
        {
            Console.WriteLine(document.ToJson());
        }
        // The classes by name, one line per input; on standard error when standard output is the JSON itself.
        foreach (var prediction in document.Outcomes.OfType<Prediction>().Where(p => p.Predicted is not null))
        {
            (settings.Out is null ? Console.Error : Console.Out).WriteLine($"{prediction.Input}: " + string.Join("; ", prediction.Predicted!.Select(task =>
                $"{task.Key} {(task.Value.Count == 0 ? "none" : string.Join(", ", task.Value.Select(c => string.Create(CultureInfo.InvariantCulture, $"{c.Class} ({c.Probability:F3})"))))}")));
        }
        // Where the pictures went; on standard error when standard output is the JSON itself.
        foreach (var prediction in document.Outcomes.OfType<Prediction>())
        {
            if (prediction.AttentionMap is { } picture)
            {
                (settings.Out is null ? Console.Error : Console.Out).WriteLine($"wrote attention map {picture}");
            }
            if (prediction.HeatMap is { } heatMap)
            {
                (settings.Out is null ? Console.Error : Console.Out).WriteLine($"wrote heat map {heatMap.Path}");
            }
        }
        foreach (var export in exports)
        {
            (settings.Out is null ? Console.Error : Console.Out).WriteLine($"wrote {export}");
        }
        var failed = document.Failures;
        foreach (var failure in failed)
        {
            AnsiConsole.MarkupLine($"[red]error:[/] {Markup.Escape(failure.Error)}");
        }
        return failed.Count == 0 ? 0 : 1;
    }

    private static void RequireExists(string input)
    {
        if (!File.Exists(input) && !Directory.Exists(input))
        {
            throw new FileNotFoundException($"{input}: input not found", input);
        }
    }

    // With --keep-going, an input the user got wrong becomes an entry naming its error; a bug still stops the run.
    private static PredictionOutcome PredictOne(Predictor predictor, string input, PredictSettings settings)
    {
        try
        {
            RequireExists(input);
            return predictor.Predict(input);
        }
        catch (Exception error) when (settings.KeepGoing && UserErrors.IsUserError(error))
        {
            return new FailedPrediction(input, error.Message);
        }
    }
}
