using System.ComponentModel;
using Ips.Data.OwnImages;
using Ips.IO;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Ips.Cli.Commands;

/// <summary>Options of <c>ips config init</c>.</summary>
public sealed class ConfigInitSettings : PlainSettings
{
    [CommandArgument(0, "<DATA>")]
    [Description("Your images or slides: class folders (train/<class>/*, test/<class>/*) or a labels.csv (path,label,split); docs/own-data.md.")]
    public string Data { get; init; } = "";

    [CommandOption("-o|--out <FILE>")]
    [Description("The config to write (refused if it exists).")]
    public string? Out { get; init; }

    [CommandOption("--encoder <NAME>")]
    [Description("resnet18 (ImageNet weights ship with ips; default) or resnet50.")]
    [DefaultValue("resnet18")]
    public string Encoder { get; init; } = "resnet18";

    [CommandOption("--patch-size <P>")]
    [Description("Patch side in pixels (default: about an eighth of the typical shorter image side; for slides the tile size of --coords-dir, else 256).")]
    public int? PatchSize { get; init; }

    [CommandOption("--coords-dir <DIR>")]
    [Description("For slides: the folder where `ips slides tile` wrote NAME.h5 per slide; their tissue tiles become the patches (default: every tile of level 0's grid).")]
    public string? CoordsDir { get; init; }

    /// <inheritdoc />
    public override ValidationResult Validate() =>
        Out is null ? ValidationResult.Error("--out is required.")
        : !StartingConfig.Encoders.Contains(Encoder) ? ValidationResult.Error($"--encoder {Encoder}: expected {string.Join(" or ", StartingConfig.Encoders)}.")
        : PatchSize is < 8 ? ValidationResult.Error($"--patch-size must be >= 8, got {PatchSize}.")
        : ValidationResult.Success();
}

/// <summary><c>ips config init</c>: a commented starting config drafted from your own images, and a summary of them.</summary>
public sealed class ConfigInitCommand : Command<ConfigInitSettings>
{
    /// <inheritdoc />
    protected override int Execute(CommandContext context, ConfigInitSettings settings, CancellationToken cancellationToken)
    {
        var path = settings.Out!;
        if (File.Exists(path))
        {
            throw new ArgumentException($"--out {path}: the file exists; choose another name, or delete it to draft it again.");
        }
        var draft = StartingConfig.Draft(settings.Data, settings.Encoder, settings.PatchSize, settings.CoordsDir);
        AtomicFile.Write(path, temporary => File.WriteAllText(temporary, draft.Yaml));
        foreach (var line in draft.Summary)
        {
            AnsiConsole.WriteLine(line);
        }
        foreach (var problem in draft.Problems)
        {
            AnsiConsole.WriteLine($"problem: {problem}");
        }
        AnsiConsole.MarkupLine($"wrote [blue]{Markup.Escape(path)}[/]; next: ips train -c {Markup.Escape(path)}" +
            (draft.Problems.Count > 0 ? $" (it refuses the {draft.Problems.Count} problem(s) above; add --skip-bad to leave them out)" : ""));
        return draft.Problems.Count == 0 ? 0 : 1;
    }
}
