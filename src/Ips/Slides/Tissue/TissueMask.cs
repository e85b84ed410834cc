namespace Ips.Slides.Tissue;

/// <summary>
/// The foreground rule of the paper, applied to one tile at a time as the official <c>split_slide</c> does (so no
/// slide-sized mask ever exists): a pixel is tissue when its grey level is above a quarter of the Otsu threshold and
/// it lies in a region of such pixels (8-connected, scikit-image's default for <c>label</c> on 2-D images) that holds
/// at least one pixel above the threshold itself. Faint tissue touching strong tissue is kept; faint specks alone
/// (dust, shadows, pen at low saturation) are dropped.
/// </summary>
/// <remarks>
/// The official <c>create_otsu_mask_by_threshold</c> loops over labels <c>range(1, max())</c>, which never visits the
/// highest label, so that one region is kept even when it holds no pixel above the threshold. This class implements
/// the rule as the paper states it, for every region; on a tile whose last-labelled region is faint the official code
/// counts a few more foreground pixels.
/// An instance holds scratch buffers for one tile size and is not thread-safe: use one per thread.
/// </remarks>
public sealed class TissueMask
{
    private readonly int _thresholdThirds;
    private byte[] _state = [];
    private int[] _stack = [];

    // Per-pixel states of the flood fill.
    private const byte Background = 0, Faint = 1, Tissue = 2;

    /// <summary>A mask for the Otsu threshold <paramref name="thresholdThirds"/> (in thirds, see <see cref="StainGrey"/>).</summary>
    public TissueMask(int thresholdThirds)
    {
        if (thresholdThirds is < 0 or >= StainGrey.Levels)
        {
            throw new ArgumentOutOfRangeException(nameof(thresholdThirds), $"threshold must be within 0 .. {StainGrey.Levels - 1} thirds, got {thresholdThirds}");
        }
        _thresholdThirds = thresholdThirds;
    }

    /// <summary>
    /// Counts the tissue pixels of a <paramref name="width"/> x <paramref name="height"/> RGB tile (interleaved, row
    /// major). When <paramref name="mask"/> is given (<c>width * height</c> entries), it receives true at tissue pixels.
    /// </summary>
    public int Count(ReadOnlySpan<byte> rgb, int width, int height, Span<bool> mask = default)
    {
        int pixels = checked(width * height);
        if (rgb.Length != pixels * 3)
        {
            throw new ArgumentException($"a {width} x {height} RGB tile has {pixels * 3} bytes, got {rgb.Length}", nameof(rgb));
        }
        if (!mask.IsEmpty && mask.Length != pixels)
        {
            throw new ArgumentException($"the mask of a {width} x {height} tile has {pixels} entries, got {mask.Length}", nameof(mask));
        }
        if (_state.Length < pixels)
        {
            _state = new byte[pixels];
            _stack = new int[pixels];
        }
        var state = _state.AsSpan(0, pixels);

        // Grey above threshold / 4, i.e. 4 g > t in thirds, is faint; strong pixels (g > t) are a subset of it because
        // t >= 0, so every strong pixel seeds a flood fill of its faint region.
        for (int p = 0; p < pixels; p++)
        {
            int thirds = StainGrey.Thirds(rgb[3 * p], rgb[3 * p + 1], rgb[3 * p + 2]);
            state[p] = 4 * thirds > _thresholdThirds ? Faint : Background;
        }

        int count = 0;
        for (int p = 0; p < pixels; p++)
        {
            if (state[p] != Faint || StainGrey.Thirds(rgb[3 * p], rgb[3 * p + 1], rgb[3 * p + 2]) <= _thresholdThirds)
            {
                continue;
            }
            count += Fill(state, p, width, height);
        }

        if (!mask.IsEmpty)
        {
            for (int p = 0; p < pixels; p++)
            {
                mask[p] = state[p] == Tissue;
            }
        }
        return count;
    }

    // Marks the faint region of seed as tissue (8-connected) and returns its size.
    private int Fill(Span<byte> state, int seed, int width, int height)
    {
        int top = 0, filled = 1;
        state[seed] = Tissue;
        _stack[top++] = seed;
        while (top > 0)
        {
            int p = _stack[--top];
            int y = p / width, x = p - y * width;
            for (int dy = -1; dy <= 1; dy++)
            {
                int ny = y + dy;
                if ((uint)ny >= (uint)height)
                {
                    continue;
                }
                for (int dx = -1; dx <= 1; dx++)
                {
                    int nx = x + dx;
                    if ((uint)nx >= (uint)width)
                    {
                        continue;
                    }
                    int q = ny * width + nx;
                    if (state[q] == Faint)
                    {
                        state[q] = Tissue;
                        _stack[top++] = q;
                        filled++;
                    }
                }
            }
        }
        return filled;
    }
}
