namespace Ips.Slides.Tissue;

/// <summary>
/// The stain-aware grey level of the official CAMELYON16 pipeline, <c>R + B - (R + G + B) / 1.5</c> clipped to
/// <c>[0, 255]</c>: high where haematoxylin and eosin colour the tissue (red and blue above green), zero on the white
/// or grey background. Algebraically it equals <c>(R + B - 2 G) / 3</c>, which never exceeds 170, so the grey level is
/// kept exactly as the integer numerator <c>R + B - 2 G</c> in <c>[0, 510]</c> ("thirds"): a fixed histogram of 511
/// bins holds every value the official code can produce, and every comparison against a threshold is exact.
/// </summary>
public static class StainGrey
{
    /// <summary>Number of distinct grey levels, in thirds: 0 .. 510.</summary>
    public const int Levels = 511;

    /// <summary>The grey level of one RGB pixel in thirds (<c>3 x grey</c>), in <c>[0, 510]</c>.</summary>
    public static int Thirds(byte r, byte g, byte b) => Math.Max(0, r + b - 2 * g);

    /// <summary>A grey level in thirds as the official pipeline's floating-point grey value.</summary>
    public static double ToGrey(int thirds) => thirds / 3.0;
}
