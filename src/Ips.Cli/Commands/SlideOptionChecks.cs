using System.Globalization;
using Ips.Slides;
using Ips.Slides.Tiling;
using Spectre.Console;

namespace Ips.Cli.Commands;

/// <summary>
/// The checks of the slide commands' option values that need no slide, run by Spectre before the command (exit code 64
/// on failure): a wrong value is reported once, naming the option, instead of once per slide after opening it. What
/// needs the slide (does --level exist?) is checked per slide by <see cref="TilingOptions.Check"/>.
/// </summary>
internal static class SlideOptionChecks
{
    /// <summary>The options of <c>ips slides tile</c>.</summary>
    public static ValidationResult Tiling(int level, int? otsuLevel, int tileSize, int overlap, double fgPercThresh, string? shard, string reader, string? outFolder) =>
        First(
            Folder("--out", outFolder),
            AtLeast("--level", level, 0),
            otsuLevel is { } otsu ? AtLeast("--otsu-level", otsu, 0) : null,
            AtLeast("--tile-size", tileSize, 1),
            overlap < 0 || overlap >= tileSize
                ? $"--overlap must be within 0 .. --tile-size - 1 ({tileSize - 1}), got {overlap}" : null,
            fgPercThresh is < 0 or > 1 || double.IsNaN(fgPercThresh)
                ? string.Create(CultureInfo.InvariantCulture, $"--fg-perc-thresh must be within 0 .. 1 (a fraction of the tile), got {fgPercThresh}") : null,
            Shard(shard),
            Reader(reader));

    /// <summary>The resolution options of <c>ips slides tile</c> and <c>ips predict</c>: a level or a resolution, positive values.</summary>
    public static ValidationResult Resolution(int? level, double? mpp, double? magnification, double? mppLevel0)
    {
        try
        {
            new TilingOptions { TargetMpp = mpp, TargetMagnification = magnification, Level0Mpp = mppLevel0 }.CheckValues();
        }
        catch (ArgumentException error)
        {
            return ValidationResult.Error(error.Message);
        }
        return level is not null && (mpp is not null || magnification is not null)
            ? ValidationResult.Error("--level cuts tiles at a pyramid level, --mpp and --magnification at a resolution; give one of them")
            : mppLevel0 is not null && mpp is null && magnification is null
            ? ValidationResult.Error("--mpp-level0 only serves --mpp or --magnification; tiles at a --level need no microns per pixel")
            : ValidationResult.Success();
    }

    /// <summary>The options of <c>ips slides features</c>.</summary>
    public static ValidationResult Features(int batchSize, int workers, string? shard, string? outFolder) =>
        First(Folder("--out", outFolder), AtLeast("--batch-size", batchSize, 1), AtLeast("--workers", workers, 1), Shard(shard));

    /// <summary>The slide options of <c>ips predict</c>.</summary>
    public static ValidationResult Predict(int level, int? otsuLevel, int? tileSize, string reader, string? attentionFolder) =>
        First(
            Folder("--attention-dir", attentionFolder),
            AtLeast("--level", level, 0),
            otsuLevel is { } otsu ? AtLeast("--otsu-level", otsu, 0) : null,
            tileSize is { } size ? AtLeast("--tile-size", size, 1) : null,
            Reader(reader));

    // A file where a folder is meant would otherwise surface as .NET's "the file already exists" from CreateDirectory.
    private static string? Folder(string option, string? path) =>
        path is not null && File.Exists(path) ? $"{option} {path} is a file; {option} takes a folder (created when missing)" : null;

    private static string? AtLeast(string option, int value, int least) =>
        value < least ? string.Create(CultureInfo.InvariantCulture, $"{option} must be >= {least}, got {value}") : null;

    private static string? Shard(string? text)
    {
        if (text is null)
        {
            return null;
        }
        try
        {
            _ = SlideShard.Parse(text);
            return null;
        }
        catch (ArgumentException error)
        {
            return error.Message;
        }
    }

    private static string? Reader(string text)
    {
        try
        {
            _ = SlideOpener.ParseReader(text);
            return null;
        }
        catch (ArgumentException error)
        {
            return error.Message;
        }
    }

    private static ValidationResult First(params string?[] problems) =>
        problems.FirstOrDefault(p => p is not null) is { } problem ? ValidationResult.Error(problem) : ValidationResult.Success();
}
