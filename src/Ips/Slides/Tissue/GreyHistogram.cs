namespace Ips.Slides.Tissue;

/// <summary>
/// Counts of the stain-aware grey levels (<see cref="StainGrey"/>) of any number of pixels: 511 bins whatever the size
/// of the image, so a whole slide is accumulated strip by strip in constant memory and strips may be added in any order.
/// </summary>
public sealed class GreyHistogram
{
    private readonly long[] _counts = new long[StainGrey.Levels];

    /// <summary>Count of pixels per grey level in thirds (index <c>t</c> holds grey <c>t / 3</c>).</summary>
    public ReadOnlySpan<long> Counts => _counts;

    /// <summary>Number of pixels counted.</summary>
    public long Total { get; private set; }

    /// <summary>Adds every pixel of interleaved RGB bytes (<c>3</c> per pixel).</summary>
    public void AddRgb(ReadOnlySpan<byte> rgb)
    {
        if (rgb.Length % 3 != 0)
        {
            throw new ArgumentException($"RGB data must hold 3 bytes per pixel, got {rgb.Length} bytes", nameof(rgb));
        }
        for (int i = 0; i < rgb.Length; i += 3)
        {
            _counts[StainGrey.Thirds(rgb[i], rgb[i + 1], rgb[i + 2])]++;
        }
        Total += rgb.Length / 3;
    }

    /// <summary>Adds the counts of <paramref name="other"/> to this histogram.</summary>
    public void Add(GreyHistogram other)
    {
        ArgumentNullException.ThrowIfNull(other);
        for (int i = 0; i < _counts.Length; i++)
        {
            _counts[i] += other._counts[i];
        }
        Total += other.Total;
    }

    /// <summary>
    /// Otsu's threshold of the counted pixels, in thirds: pixels whose grey level in thirds is above it are
    /// foreground. Computed as scikit-image's <c>threshold_otsu</c> does on the histogram of the distinct grey values
    /// (which is what the official pipeline feeds it), see <see cref="Otsu.ThresholdIndex"/>.
    /// </summary>
    public int OtsuThirds()
    {
        if (Total == 0)
        {
            throw new InvalidOperationException("Otsu's threshold of an empty histogram is undefined");
        }
        var centres = new double[StainGrey.Levels];
        for (int t = 0; t < centres.Length; t++)
        {
            centres[t] = StainGrey.ToGrey(t);
        }
        return Otsu.ThresholdIndex(_counts, centres);
    }
}
