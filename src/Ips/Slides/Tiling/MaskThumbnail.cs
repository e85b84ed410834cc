namespace Ips.Slides.Tiling;

/// <summary>
/// The tissue mask at thumbnail resolution, gathered tile by tile while a slide is tiled (the mask itself exists only
/// one tile at a time): per thumbnail pixel, the fraction of the examined tile pixels under it that are tissue.
/// Safe to add to from several threads.
/// </summary>
public sealed class MaskThumbnail
{
    private readonly int[] _tissue;
    private readonly int[] _seen;
    private readonly object _gate = new();

    /// <summary>An empty mask of <paramref name="width"/> x <paramref name="height"/> pixels, <paramref name="scale"/> pixels per level-0 pixel.</summary>
    public MaskThumbnail(int width, int height, double scale)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        (Width, Height, Scale) = (width, height, scale);
        _tissue = new int[width * height];
        _seen = new int[width * height];
    }

    /// <summary>Width in pixels.</summary>
    public int Width { get; }

    /// <summary>Height in pixels.</summary>
    public int Height { get; }

    /// <summary>Thumbnail pixels per level-0 pixel.</summary>
    public double Scale { get; }

    /// <summary>Fraction of tissue under thumbnail pixel (<paramref name="x"/>, <paramref name="y"/>); 0 where nothing was examined.</summary>
    public float Fraction(int x, int y)
    {
        int i = y * Width + x;
        return _seen[i] == 0 ? 0 : (float)_tissue[i] / _seen[i];
    }

    /// <summary>
    /// Adds the mask of a <paramref name="size"/> x <paramref name="size"/> tile of a level with downsample
    /// <paramref name="downsample"/> whose top-left corner is level-0 (<paramref name="x0"/>, <paramref name="y0"/>).
    /// Pixels beyond <paramref name="width0"/> x <paramref name="height0"/> (outside the slide) are ignored.
    /// </summary>
    public void AddTile(long x0, long y0, double downsample, int size, ReadOnlySpan<bool> mask, long width0, long height0)
    {
        // The tile covers a small block of thumbnail pixels; count it locally, then add under the lock once.
        int left = (int)(x0 * Scale), top = (int)(y0 * Scale);
        int right = Math.Min(Width - 1, (int)((x0 + size * downsample) * Scale));
        int bottom = Math.Min(Height - 1, (int)((y0 + size * downsample) * Scale));
        if (left > right || top > bottom)
        {
            return;
        }
        int blockWidth = right - left + 1;
        var tissue = new int[blockWidth * (bottom - top + 1)];
        var seen = new int[tissue.Length];
        for (int j = 0; j < size; j++)
        {
            double y = y0 + (j + 0.5) * downsample;
            if (y >= height0)
            {
                break;
            }
            int ty = Math.Min(bottom, (int)(y * Scale)) - top;
            for (int i = 0; i < size; i++)
            {
                double x = x0 + (i + 0.5) * downsample;
                if (x >= width0)
                {
                    break;
                }
                int t = ty * blockWidth + Math.Min(right, (int)(x * Scale)) - left;
                seen[t]++;
                if (mask[j * size + i])
                {
                    tissue[t]++;
                }
            }
        }
        lock (_gate)
        {
            for (int b = 0; b < tissue.Length; b++)
            {
                int i = (top + b / blockWidth) * Width + left + b % blockWidth;
                _tissue[i] += tissue[b];
                _seen[i] += seen[b];
            }
        }
    }
}
