using Ips.Slides;

namespace Ips.Tests.Slides;

/// <summary>
/// A slide held in memory for algorithm tests: level 0 is the given RGB image, level <c>k</c> point-samples it with
/// downsample <c>2^k</c> (pixel <c>i</c> shows level-0 pixel <c>floor((i + 0.5) 2^k)</c>); regions outside read white.
/// </summary>
internal sealed class InMemorySlide : ISlide
{
    private readonly byte[] _rgb;
    private readonly int _width, _height;

    public InMemorySlide(int width, int height, byte[] rgb, int levels = 1, string path = "memory.tif")
    {
        Assert.Equal(width * height * 3, rgb.Length);
        (_width, _height, _rgb, Path) = (width, height, rgb, path);
        Levels = [.. Enumerable.Range(0, levels).Select(k => new SlideLevel(
            (width + (1L << k) - 1) >> k, (height + (1L << k) - 1) >> k, 1 << k))];
    }

    /// <summary>A slide of <paramref name="width"/> x <paramref name="height"/> whose pixel colours come from <paramref name="colour"/>.</summary>
    public static InMemorySlide Paint(int width, int height, Func<int, int, (byte R, byte G, byte B)> colour, int levels = 1, string path = "memory.tif")
    {
        var rgb = new byte[width * height * 3];
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                var (r, g, b) = colour(x, y);
                int i = 3 * (y * width + x);
                (rgb[i], rgb[i + 1], rgb[i + 2]) = (r, g, b);
            }
        }
        return new InMemorySlide(width, height, rgb, levels, path);
    }

    public int Reads { get; private set; }

    public string Path { get; }

    public string Reader => "memory";

    public IReadOnlyList<SlideLevel> Levels { get; }

    public (double X, double Y)? MicronsPerPixel => null;

    public double? ObjectivePower => null;

    public string Vendor => "memory";

    public IReadOnlyDictionary<string, string> Properties { get; } = new Dictionary<string, string>();

    public byte[] ReadRegion(int level, long x, long y, int width, int height)
    {
        Reads++;
        double d = Levels[level].Downsample;
        long left = (long)Math.Floor(x / d), top = (long)Math.Floor(y / d);
        var region = new byte[width * height * 3];
        Array.Fill(region, (byte)255);
        for (int j = 0; j < height; j++)
        {
            long sy = (long)Math.Floor((top + j + 0.5) * d);
            if (sy < 0 || sy >= _height)
            {
                continue;
            }
            for (int i = 0; i < width; i++)
            {
                long sx = (long)Math.Floor((left + i + 0.5) * d);
                if (sx < 0 || sx >= _width)
                {
                    continue;
                }
                Array.Copy(_rgb, 3 * (sy * _width + sx), region, 3 * (j * width + i), 3);
            }
        }
        return region;
    }

    public void Dispose()
    {
    }
}
