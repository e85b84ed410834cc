namespace Ips.Slides.Tissue;

/// <summary>
/// Otsu's method on a histogram, computed as scikit-image's <c>threshold_otsu(hist=(counts, bin_centers))</c>, which
/// the official CAMELYON16 code copies: bins with no pixels at either end are dropped, then the threshold is the bin
/// centre that maximises the between-class variance <c>w1 w2 (mu1 - mu2)^2</c> of the split "up to and including this
/// bin" against "above it", the first such bin on ties.
/// </summary>
public static class Otsu
{
    /// <summary>
    /// The index of the threshold bin in <paramref name="counts"/>: foreground is every bin above it. A histogram with
    /// one occupied bin returns that bin, as <c>threshold_otsu</c> returns the value of a constant image.
    /// </summary>
    public static int ThresholdIndex(ReadOnlySpan<long> counts, ReadOnlySpan<double> centres)
    {
        if (counts.Length != centres.Length)
        {
            throw new ArgumentException($"{counts.Length} counts but {centres.Length} bin centres");
        }
        int first = counts.IndexOfAnyExcept(0L), last = counts.LastIndexOfAnyExcept(0L);
        if (first < 0)
        {
            throw new ArgumentException("the histogram holds no pixels", nameof(counts));
        }
        if (first == last)
        {
            return first;
        }

        // Class weights and mean sums for the split after each bin: w1, s1 over bins first..i, w2, s2 over i+1..last.
        int n = last - first + 1;
        var w1 = new double[n];
        var s1 = new double[n];
        double w = 0, s = 0;
        for (int i = 0; i < n; i++)
        {
            w += counts[first + i];
            s += counts[first + i] * centres[first + i];
            (w1[i], s1[i]) = (w, s);
        }
        var w2 = new double[n];
        var s2 = new double[n];
        (w, s) = (0, 0);
        for (int i = n - 1; i >= 0; i--)
        {
            w += counts[first + i];
            s += counts[first + i] * centres[first + i];
            (w2[i], s2[i]) = (w, s);
        }

        int best = 0;
        double bestVariance = double.NegativeInfinity;
        for (int i = 0; i < n - 1; i++)
        {
            double meanDifference = s1[i] / w1[i] - s2[i + 1] / w2[i + 1];
            // Grouped as NumPy evaluates w1 * w2 * (m1 - m2) ** 2, so ties and the chosen bin match bit for bit.
            double variance = w1[i] * w2[i + 1] * (meanDifference * meanDifference);
            if (variance > bestVariance)
            {
                (best, bestVariance) = (i, variance);
            }
        }
        return first + best;
    }
}
