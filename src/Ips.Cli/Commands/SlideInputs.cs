using System.Globalization;
using Ips.Cli.Hosting;
using Ips.IO;
using Ips.Slides;
using Ips.Slides.Tiling;

namespace Ips.Cli.Commands;

/// <summary>
/// The slides a command's arguments name, checked before any slide is opened: an argument that does not exist is
/// "not found" and arguments that yield no slide at all are <see cref="NoInputException"/>, both exit code 66, naming
/// what was searched; a wrong path on a cluster job fails instead of finishing with nothing done.
/// </summary>
internal static class SlideInputs
{
    /// <summary>The slides of <paramref name="inputs"/> (see <see cref="SlideDiscovery.Find"/>) that belong to <paramref name="shard"/>.</summary>
    public static (IReadOnlyList<string> All, List<string> Shard) Find(IReadOnlyList<string> inputs, SlideShard shard)
    {
        foreach (var input in inputs)
        {
            if (!File.Exists(input) && !Directory.Exists(input))
            {
                throw new FileNotFoundException($"{input}: slide or folder not found", input);
            }
        }
        var all = SlideDiscovery.Find(inputs);
        if (all.Count == 0)
        {
            throw new NoInputException(string.Create(CultureInfo.InvariantCulture,
                $"no slides in {string.Join(", ", inputs)} (searched with subfolders for {string.Join(", ", SlideOpener.SlideExtensions)})"));
        }
        return (all, [.. all.Where(shard.Contains)]);
    }

    /// <summary>
    /// The one warning line for CAMELYON16 tumour slides (named <c>tumor*</c>) tiled without <c>--annotations</c>, or
    /// null: without their lesions, every tile gets tumour fraction 0 and no tile is kept for touching tumour.
    /// </summary>
    public static string? TumourSlidesWithoutAnnotations(IReadOnlyList<string> slides, string? annotations)
    {
        var tumour = slides.Where(s => SlideTilingJob.Name(s).StartsWith("tumor", StringComparison.OrdinalIgnoreCase)).ToList();
        return annotations is not null || tumour.Count == 0 ? null : string.Create(CultureInfo.InvariantCulture,
            $"{tumour.Count} slide(s) named tumor* ({Path.GetFileName(tumour[0])}{(tumour.Count > 1 ? ", ..." : "")}) are tiled without --annotations: their tiles get tumour fraction 0; give --annotations DIR (NAME.xml per slide) to record the lesions");
    }
}
