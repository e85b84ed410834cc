using Ips.Encoders;
using Ips.Features;

namespace Ips.Cli.Commands;

/// <summary>The check <c>ips slides features</c> makes before embedding anything: that <c>--out</c> holds no features of another encoder or tiling.</summary>
internal static class FeatureFolderCheck
{
    /// <summary>
    /// Refuses, before any slide is embedded, an output folder where a slide's feature file records another encoder or
    /// tiling (or none), naming the first such file and both encoders; with <paramref name="overwrite"/> those slides are redone instead.
    /// </summary>
    /// <exception cref="InvalidDataException">A feature file conflicts and <paramref name="overwrite"/> is false.</exception>
    public static void RefuseOtherFeatures(IReadOnlyList<string> slides, string coords, string outDirectory, EncoderIdentity encoder, bool overwrite)
    {
        if (overwrite)
        {
            return;
        }
        var conflicts = slides.Select(slide => FeatureExtraction.Conflict(slide, coords, outDirectory, encoder)).OfType<string>().ToList();
        if (conflicts.Count > 0)
        {
            throw new InvalidDataException(conflicts.Count == 1 ? conflicts[0] : $"{conflicts[0]} ({conflicts.Count - 1} other slide(s) of {outDirectory} too)");
        }
    }
}
