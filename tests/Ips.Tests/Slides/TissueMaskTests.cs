using Ips.Slides.Tissue;

namespace Ips.Tests.Slides;

public sealed class TissueMaskTests
{
    // Threshold 60 thirds (grey 20): strong above 60, faint above 15.
    private const int Threshold = 60;
    private static readonly (byte, byte, byte) Strong = (104, 58, 152);   // 140 thirds
    private static readonly (byte, byte, byte) Faint = (200, 180, 200);   // 40 thirds
    private static readonly (byte, byte, byte) Glass = (250, 250, 250);   // 0 thirds

    [Fact]
    public void Faint_tissue_touching_strong_tissue_is_kept_and_faint_tissue_alone_is_dropped()
    {
        const int width = 12, height = 10;
        var expected = new bool[width * height];
        var rgb = new byte[width * height * 3];
        void Paint(int x0, int x1, int y0, int y1, (byte R, byte G, byte B) colour, bool tissue)
        {
            for (int y = y0; y <= y1; y++)
            {
                for (int x = x0; x <= x1; x++)
                {
                    (rgb[3 * (y * width + x)], rgb[3 * (y * width + x) + 1], rgb[3 * (y * width + x) + 2]) = colour;
                    expected[y * width + x] = tissue;
                }
            }
        }
        Paint(0, width - 1, 0, height - 1, Glass, false);
        Paint(1, 3, 1, 3, Strong, true);    // strong region
        Paint(4, 6, 1, 2, Faint, true);     // faint, touching it side by side
        Paint(0, 0, 4, 4, Faint, true);     // faint, touching its corner only (8-connected)
        Paint(8, 10, 6, 8, Faint, false);   // faint and alone
        Paint(10, 10, 1, 1, Strong, true);  // a strong speck alone is tissue

        var mask = new bool[width * height];
        int count = new TissueMask(Threshold).Count(rgb, width, height, mask);

        Assert.Equal(9 + 6 + 1 + 1, count);
        Assert.Equal(expected, mask);
    }

    [Fact]
    public void Pixels_exactly_at_the_thresholds_are_not_tissue()
    {
        // 60 thirds is not above 60; 15 thirds is not above 60 / 4.
        var rgb = new byte[] { 130, 100, 130, 115, 100, 100, 104, 58, 152 };
        var mask = new bool[3];
        Assert.Equal(1, new TissueMask(Threshold).Count(rgb, 3, 1, mask));
        Assert.Equal([false, false, true], mask);
    }

    [Fact]
    public void A_wrong_buffer_size_is_refused()
    {
        Assert.Throws<ArgumentException>(() => new TissueMask(Threshold).Count(new byte[10], 2, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TissueMask(511));
    }
}
