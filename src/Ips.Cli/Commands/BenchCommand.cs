using System.ComponentModel;
using System.Globalization;
using Ips.Bench;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Ips.Cli.Commands;

/// <summary>Options of <c>ips bench</c>.</summary>
public sealed class BenchSettings : PlainSettings
{
    [CommandOption("--quick")]
    [Description("Small sizes for a smoke run (well under a minute on 2 cores).")]
    public bool Quick { get; init; }

    [CommandOption("--device <DEVICE>")]
    [Description("auto (CUDA when available), cpu, cuda or cuda:N.")]
    [DefaultValue("auto")]
    public string Device { get; init; } = "auto";

    [CommandOption("--out <FILE>")]
    [Description("Write the figures as JSON to FILE.")]
    public string? Out { get; init; }

    [CommandOption("--parts <PARTS>")]
    [Description("Comma-separated: memory, time, efficiency (efficiency runs the time part too), vs-pytorch (the official implementation side by side), slides (generated 10k-100k whole slides), demo (the whole `ips demo` per --seeds seed), slide-read (tiles/s of the slide readers and openslide-python), encoders (tiles/s and peak memory of each encoder preset's architecture at random weights); the last five are not in the default.")]
    [DefaultValue("memory,time,efficiency")]
    public string Parts { get; init; } = "memory,time,efficiency";

    [CommandOption("--budget-gib <GIB>")]
    [Description("Memory budget of the all-patches baseline, GiB: not run (or stopped) beyond it.")]
    [DefaultValue(4.0)]
    public double BudgetGib { get; init; } = 4.0;

    [CommandOption("--threads <N>")]
    [Description("libtorch intra-op threads (default: libtorch's choice, one per core).")]
    public int? Threads { get; init; }

    [CommandOption("--set <KEY=VALUE>")]
    [Description("Override a key of configs/mnist.yml for the time part, e.g. --set n_worker=2; repeatable.")]
    public string[] Set { get; init; } = [];

    [CommandOption("--official <DIR>")]
    [Description("vs-pytorch: checkout of github.com/benbergner/ips, imported unchanged (default: ../shared/reference/official-ips beside the repository).")]
    public string? Official { get; init; }

    [CommandOption("--camelyon-n <LIST>")]
    [Description("vs-pytorch: comma-separated rows per slide of the CAMELYON16 feature cases, e.g. 20000,200000.")]
    [DefaultValue("20000")]
    public string CamelyonN { get; init; } = "20000";

    [CommandOption("--vs-cases <LIST>")]
    [Description("vs-pytorch: which cases to run, comma-separated: mnist, camelyon (default both).")]
    [DefaultValue("mnist,camelyon")]
    public string VsCases { get; init; } = "mnist,camelyon";

    [CommandOption("--seeds <LIST>")]
    [Description("demo: comma-separated seeds to run the whole `ips demo` with, one fresh process each.")]
    [DefaultValue("0,1,2")]
    public string Seeds { get; init; } = "0,1,2";

    [CommandOption("--child <SPEC>", IsHidden = true)]
    public string? Child { get; init; }

    /// <inheritdoc />
    public override ValidationResult Validate()
    {
        if (BudgetGib <= 0)
        {
            return ValidationResult.Error("--budget-gib must be positive.");
        }
        if (ParseSeeds(Seeds) is null)
        {
            return ValidationResult.Error($"--seeds {Seeds}: expected whole numbers from 0 separated by commas, e.g. 0,1,2.");
        }
        if (ParseRows(CamelyonN) is null)
        {
            return ValidationResult.Error($"--camelyon-n {CamelyonN}: expected positive whole numbers separated by commas, e.g. 20000,200000.");
        }
        try
        {
            BenchOptions.ParseVsCases(VsCases);
        }
        catch (ArgumentException error)
        {
            return ValidationResult.Error(error.Message);
        }
        return ValidationResult.Success();
    }

    /// <summary>The seeds of <c>--seeds</c>, or null when the list is not whole numbers from 0.</summary>
    public static List<int>? ParseSeeds(string text) => ParseList(text, minimum: 0);

    /// <summary>The rows of <c>--camelyon-n</c>, or null when the list is not positive whole numbers.</summary>
    public static List<int>? ParseRows(string text) => ParseList(text, minimum: 1);

    private static List<int>? ParseList(string text, int minimum)
    {
        var rows = new List<int>();
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < minimum)
            {
                return null;
            }
            rows.Add(n);
        }
        return rows.Count > 0 ? rows : null;
    }
}

/// <summary><c>ips bench</c>: memory against image size, time per iteration and efficiency, as tables and JSON.</summary>
public sealed class BenchCommand : Command<BenchSettings>
{
    /// <inheritdoc />
    protected override int Execute(CommandContext context, BenchSettings settings, CancellationToken cancellationToken)
    {
        if (settings.Child is { } spec)
        {
            BenchRunner.RunChild(spec, settings.Device, settings.Threads, Console.Out, Console.Error);
            return 0;
        }
        var options = new BenchOptions(
            settings.Quick,
            settings.Device,
            BenchOptions.ParseParts(settings.Parts),
            (long)(settings.BudgetGib * (1L << 30)),
            ChildCommand.OfCurrentProcess(typeof(BenchCommand).Assembly.Location),
            settings.Set,
            settings.Threads,
            settings.Official,
            BenchSettings.ParseRows(settings.CamelyonN),
            BenchOptions.ParseVsCases(settings.VsCases),
            BenchSettings.ParseSeeds(settings.Seeds));
        var report = BenchRunner.Run(options, Console.Error);
        Console.Out.Write(BenchTables.Format(report));
        if (settings.Out is { } path)
        {
            var directory = Path.GetDirectoryName(Path.GetFullPath(path));
            if (directory is not null)
            {
                Directory.CreateDirectory(directory);
            }
            File.WriteAllText(path, report.ToJson());
            Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"figures written to {path}"));
        }
        return 0;
    }
}
