using Ips.Encoders;

namespace Ips.Features;

/// <summary>The one encoder whose features a packed split file holds, as the slides' feature files record it.</summary>
public static class PackedEncoder
{
    /// <summary>
    /// The encoder every feature file of <paramref name="slides"/> records, or null when none records one (files of
    /// other tools); packing features of two encoders, or recorded with unrecorded ones, is refused naming two slides.
    /// </summary>
    /// <exception cref="InvalidDataException">The slides' files record different encoders.</exception>
    public static EncoderIdentity? Common(IReadOnlyList<(string Slide, string Path)> slides)
    {
        ArgumentNullException.ThrowIfNull(slides);
        if (slides.Count == 0)
        {
            return null;
        }
        var first = (slides[0].Slide, slides[0].Path, Encoder: FeatureProvenance.Read(slides[0].Path)?.Encoder);
        foreach (var (slide, path) in slides.Skip(1))
        {
            var encoder = FeatureProvenance.Read(path)?.Encoder;
            var same = (first.Encoder, encoder) switch
            {
                (null, null) => true,
                ({ } a, { } b) => a.SameFeatures(b),
                _ => false,
            };
            if (!same)
            {
                throw new InvalidDataException(
                    $"slide {first.Slide} ({first.Path}) has features of {Describe(first.Encoder)} but slide {slide} ({path}) of {Describe(encoder)}; " +
                    "one packed file holds the features of one encoder: extract them all again with the same --encoder");
            }
        }
        return first.Encoder;
    }

    private static string Describe(EncoderIdentity? encoder) =>
        encoder is null ? "no recorded encoder" : $"encoder {encoder}";
}
