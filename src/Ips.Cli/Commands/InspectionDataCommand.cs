using System.ComponentModel;
using Ips.Data.OwnImages;
using Ips.IO;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Ips.Cli.Commands;

/// <summary>Options of <c>ips data inspection</c>.</summary>
public sealed class InspectionDataSettings : PlainSettings
{
    [CommandArgument(0, "<OUTDIR>")]
    [Description("Folder to create with train/<class>/*.png and test/<class>/*.png (refused if it exists).")]
    public string Out { get; init; } = "";

    [CommandOption("--train <N>")]
    [Description("Training images per class.")]
    [DefaultValue(40)]
    public int Train { get; init; } = 40;

    [CommandOption("--test <N>")]
    [Description("Test images per class.")]
    [DefaultValue(20)]
    public int Test { get; init; } = 20;

    [CommandOption("--size <PX>")]
    [Description("Typical longer image side in pixels (each image within 25 %, landscape or portrait).")]
    [DefaultValue(1024)]
    public int Size { get; init; } = 1024;

    [CommandOption("--defect <PX>")]
    [Description("Length of the scratch in the defect class, in pixels.")]
    [DefaultValue(40)]
    public int Defect { get; init; } = 40;

    [CommandOption("--seed <SEED>")]
    [DefaultValue(0)]
    public int Seed { get; init; }

    /// <inheritdoc />
    public override ValidationResult Validate() =>
        Train < 1 ? ValidationResult.Error($"--train must be >= 1, got {Train}.")
        : Test < 0 ? ValidationResult.Error($"--test must be >= 0, got {Test}.")
        : Size < 64 ? ValidationResult.Error($"--size must be >= 64, got {Size}.")
        : Defect < 4 || Defect > Size / 2 ? ValidationResult.Error($"--defect must be in [4, --size / 2], got {Defect}.")
        : ValidationResult.Success();
}

/// <summary><c>ips data inspection</c>: a generated inspection-like set of your own images (docs/own-data.md).</summary>
public sealed class InspectionDataCommand : Command<InspectionDataSettings>
{
    /// <inheritdoc />
    protected override int Execute(CommandContext context, InspectionDataSettings settings, CancellationToken cancellationToken)
    {
        if (Directory.Exists(settings.Out) || File.Exists(settings.Out))
        {
            throw new ArgumentException($"{settings.Out}: exists; choose another folder, or delete it to generate the set again.");
        }
        // Written beside the target and renamed when complete, so a stopped run leaves no half-written set.
        var scratch = AtomicFile.CreateScratchDirectory(settings.Out);
        try
        {
            InspectionImages.Write(scratch, settings.Train, settings.Test, settings.Size, settings.Defect, settings.Seed);
            Directory.Move(scratch, settings.Out);
        }
        catch
        {
            Directory.Delete(scratch, recursive: true);
            throw;
        }
        AnsiConsole.MarkupLine($"wrote {2 * (settings.Train + settings.Test)} images ({string.Join(", ", InspectionImages.Classes)}; {settings.Train} training and {settings.Test} test per class) to [blue]{Markup.Escape(settings.Out)}[/]; next: ips config init {Markup.Escape(settings.Out)} --out my.yml");
        return 0;
    }
}
