using System.ComponentModel;
using System.Globalization;
using Ips.Slides;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Ips.Cli.Commands;

/// <summary>The <c>--slide-reader</c> option shared by the <c>ips slides</c> commands.</summary>
public class SlideReaderSettings : PlainSettings
{
    [CommandOption("--slide-reader <READER>")]
    [Description("auto (managed TIFF reader for .tif/.tiff/.svs, OpenSlide for other vendor formats), tiff or openslide.")]
    [DefaultValue("auto")]
    public string SlideReader { get; init; } = "auto";

    /// <summary>The parsed reader choice.</summary>
    public SlideReaderKind ReaderKind => SlideOpener.ParseReader(SlideReader);

    public override ValidationResult Validate()
    {
        try
        {
            _ = ReaderKind;
            return ValidationResult.Success();
        }
        catch (ArgumentException error)
        {
            return ValidationResult.Error(error.Message);
        }
    }
}

/// <summary>Options of <c>ips slides info</c>.</summary>
public sealed class SlidesInfoSettings : SlideReaderSettings
{
    [CommandArgument(0, "<SLIDE>")]
    [Description("Slide file: pyramidal TIFF, Aperio .svs, or any format OpenSlide reads (.ndpi, .mrxs, .scn, .bif, ...).")]
    public string Slide { get; init; } = "";
}

/// <summary><c>ips slides info</c>: the levels, resolution, vendor, reader and properties of a slide.</summary>
public sealed class SlidesInfoCommand : Command<SlidesInfoSettings>
{
    protected override int Execute(CommandContext context, SlidesInfoSettings settings, CancellationToken cancellationToken)
    {
        using var slide = SlideOpener.Open(settings.Slide, settings.ReaderKind);
        var summary = new Table().AddColumn("item").AddColumn("value");
        summary.AddRow("file", Markup.Escape(slide.Path));
        summary.AddRow("reader", slide.Reader);
        summary.AddRow("vendor", Markup.Escape(slide.Vendor));
        summary.AddRow("microns per pixel", slide.MicronsPerPixel is { } mpp ? $"{Number(mpp.X)} x {Number(mpp.Y)}" : "not recorded");
        summary.AddRow("objective power", slide.ObjectivePower is { } power ? Number(power) : "not recorded");
        AnsiConsole.Write(summary);

        var levels = new Table().AddColumn("level").AddColumn("width").AddColumn("height").AddColumn("downsample");
        for (int i = 0; i < slide.Levels.Count; i++)
        {
            var level = slide.Levels[i];
            levels.AddRow(Number(i), Number(level.Width), Number(level.Height), Number(level.Downsample));
        }
        AnsiConsole.Write(levels);

        var properties = new Table().AddColumn("property").AddColumn("value");
        foreach (var (name, value) in slide.Properties.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            properties.AddRow(Markup.Escape(name), Markup.Escape(value.ReplaceLineEndings(" ")));
        }
        AnsiConsole.Write(properties);
        return 0;
    }

    private static string Number(double value) => value.ToString("0.####", CultureInfo.InvariantCulture);
}
