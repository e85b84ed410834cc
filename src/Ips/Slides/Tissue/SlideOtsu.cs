namespace Ips.Slides.Tissue;

/// <summary>Progress of one pass over a slide: <paramref name="Done"/> of <paramref name="Total"/> units (strips or tile rows).</summary>
/// <param name="Phase">What the pass does: <c>otsu</c> (histogram strips) or <c>tiles</c> (rows of tiles).</param>
/// <param name="Done">Units finished.</param>
/// <param name="Total">Units in the pass.</param>
public readonly record struct SlidePassProgress(string Phase, int Done, int Total);

/// <summary>
/// The Otsu threshold of a whole slide's stain-aware grey levels, from a histogram accumulated over one level read in
/// horizontal strips, each strip in blocks of bounded width: memory is a few megabytes whatever the slide's size.
/// </summary>
public static class SlideOtsu
{
    /// <summary>Default strip height in pixels of the level read.</summary>
    public const int DefaultStripHeight = 512;

    /// <summary>Default width of the blocks a strip is read in.</summary>
    public const int DefaultBlockWidth = 4096;

    /// <summary>
    /// Accumulates the grey histogram of every pixel of <paramref name="level"/>. The strips are read one after the
    /// other (their blocks in parallel); <paramref name="progress"/> hears after each strip.
    /// </summary>
    public static GreyHistogram Histogram(
        ISlide slide, int level, int stripHeight = DefaultStripHeight, int blockWidth = DefaultBlockWidth,
        IProgress<SlidePassProgress>? progress = null, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(slide);
        var size = LevelGeometry.Check(slide, level);
        if (stripHeight <= 0 || blockWidth <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(stripHeight), $"strip height and block width must be positive, got {stripHeight} and {blockWidth}");
        }

        int strips = checked((int)((size.Height + stripHeight - 1) / stripHeight));
        int blocks = checked((int)((size.Width + blockWidth - 1) / blockWidth));
        var total = new GreyHistogram();
        var gate = new object();
        for (int s = 0; s < strips; s++)
        {
            cancel.ThrowIfCancellationRequested();
            long top = (long)s * stripHeight;
            int height = (int)Math.Min(stripHeight, size.Height - top);
            // One reader per core: without a bound the thread pool adds threads during a long pass over a large slide,
            // each with its own LibTiff handle and decoder state, so memory would grow with the slide.
            var parallel = new ParallelOptions { CancellationToken = cancel, MaxDegreeOfParallelism = Environment.ProcessorCount };
            Parallel.For(0, blocks, parallel, () => new GreyHistogram(), (b, _, local) =>
            {
                long left = (long)b * blockWidth;
                int width = (int)Math.Min(blockWidth, size.Width - left);
                local.AddRgb(slide.ReadRegion(level, LevelGeometry.ToLevel0(left, size.Downsample), LevelGeometry.ToLevel0(top, size.Downsample), width, height));
                return local;
            }, local =>
            {
                lock (gate)
                {
                    total.Add(local);
                }
            });
            progress?.Report(new SlidePassProgress("otsu", s + 1, strips));
        }
        return total;
    }
}
