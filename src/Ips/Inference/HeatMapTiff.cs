using System.Globalization;
using Ips.Data.Camelyon16;
using Ips.Patches;

namespace Ips.Inference;

/// <summary>Where a slide's heat map TIFF went and how to read its pixels back as attention.</summary>
/// <param name="Path">The pyramidal TIFF.</param>
/// <param name="CellSize">Level-0 slide pixels per heat-map pixel: the side of a tile.</param>
/// <param name="ScaleMax">The attention that the pixel value 255 stands for.</param>
public sealed record HeatMapFile(string Path, int CellSize, float ScaleMax)
{
    /// <summary>The attention a pixel value stands for: 0 is no selected tile, v in 1 .. 255 is (v - 1) / 254 of <see cref="ScaleMax"/>.</summary>
    public float Attention(byte value) => value == 0 ? 0 : (value - 1) / 254f * ScaleMax;
}

/// <summary>
/// The attention of a slide's selected tiles as a pyramidal tiled TIFF aligned to the slide, for viewers that overlay
/// images (OpenSlide opens it as a generic TIFF): level 0 has one pixel per tile of the tile grid (pixel (i, j) covers
/// level-0 slide pixels [i s, (i + 1) s) x [j s, (j + 1) s) for tile side s), resolution tags give its micrometres per
/// pixel (the slide's times s), and each pixel is grey: 0 where no selected tile covers the cell's centre, else
/// 1 + round(254 x attention / scale top), the mean attention where selected tiles overlap (see
/// <see cref="HeatMapFile.Attention"/>; the image description repeats the rule and the top). Lossless (LZW), so values
/// read back exactly; the file is a few hundred pixels wide even for a 100k-pixel slide.
/// <para>
/// Every level is at least one tile in each direction, because OpenSlide 3.4.1 reads lossless tiles through libtiff's
/// <c>TIFFRGBAImageGet</c> into a buffer laid out as one tile, which libtiff 4.5 lays out otherwise for an image smaller
/// than the tile: such a level comes back scrambled and partly uninitialised (docs/slides.md). So the tiles are
/// the smallest TIFF allows (16 x 16), the pyramid stops before a level shorter than a tile, and a slide fewer than
/// 16 tiles wide or high gets empty cells (0) beyond its edge to fill level 0 up to 16.
/// </para>
/// </summary>
public static class HeatMapTiff
{
    // Tile side and smallest level side of the TIFF: the smallest multiple of 16 (TIFF's rule for tiles).
    private const int TileSide = 16;

    /// <summary>Where the heat map of <paramref name="input"/> goes in <paramref name="directory"/>: <c>NAME.heatmap.tif</c>.</summary>
    public static string PathFor(string directory, string input) =>
        System.IO.Path.Combine(directory, System.IO.Path.GetFileNameWithoutExtension(input) + ".heatmap.tif");

    /// <summary>
    /// Writes the heat map of <paramref name="boxes"/> (level-0 tiles of one side) with their <paramref name="scores"/>
    /// over a <paramref name="slideWidth"/> x <paramref name="slideHeight"/> slide to <paramref name="path"/>, atomically;
    /// <paramref name="scaleMax"/> is the attention of value 255 and <paramref name="micronsPerPixel"/> the slide's
    /// level-0 pixel size, when known.
    /// </summary>
    public static HeatMapFile Write(
        string path, long slideWidth, long slideHeight, double? micronsPerPixel, IReadOnlyList<PixelBox> boxes, IReadOnlyList<float> scores, float scaleMax)
    {
        ArgumentNullException.ThrowIfNull(boxes);
        ArgumentNullException.ThrowIfNull(scores);
        if (boxes.Count == 0 || boxes.Count != scores.Count)
        {
            throw new ArgumentException($"{path}: {boxes.Count} tiles and {scores.Count} scores; a heat map needs one score per tile, at least one", nameof(scores));
        }
        int cell = boxes[0].Width;
        if (boxes.Any(b => b.Width != cell || b.Height != cell))
        {
            throw new ArgumentException($"{path}: the tiles are not all {cell} x {cell} level-0 pixels", nameof(boxes));
        }
        var content = new HeatMapContent(
            Cells(boxes, scores, cell, scaleMax), Math.Max(TileSide, (slideWidth + cell - 1) / cell), Math.Max(TileSide, (slideHeight + cell - 1) / cell));
        string description = string.Create(CultureInfo.InvariantCulture,
            $"IPS attention heat map: one pixel per {cell} x {cell} level-0 slide pixels; value 0 = no selected tile, v in 1..255 = attention (v - 1) / 254 * {scaleMax:R}");
        PyramidalTiffWriter.Write(path, content, new SlideWriteOptions
        {
            Compression = SlideCompression.Lzw, TileSize = TileSide, SmallestLevelSize = TileSide, SmallestLevelSide = TileSide,
            MicronsPerPixel = micronsPerPixel * cell, Description = description,
        });
        return new HeatMapFile(path, cell, scaleMax);
    }

    // The value of every cell whose centre lies in a selected tile: the encoded mean of the tiles covering it.
    private static Dictionary<(long X, long Y), byte> Cells(IReadOnlyList<PixelBox> boxes, IReadOnlyList<float> scores, int cell, float scaleMax)
    {
        var sums = new Dictionary<(long X, long Y), (double Sum, int Count)>();
        for (int k = 0; k < boxes.Count; k++)
        {
            var box = boxes[k];
            // Cells i with centre (i + 0.5) cell inside [box.X, box.X + cell).
            long first = (long)Math.Ceiling((double)box.X / cell - 0.5), firstRow = (long)Math.Ceiling((double)box.Y / cell - 0.5);
            for (long y = firstRow; (y + 0.5) * cell < box.Y + cell; y++)
            {
                for (long x = first; (x + 0.5) * cell < box.X + cell; x++)
                {
                    var (sum, count) = sums.GetValueOrDefault((x, y));
                    sums[(x, y)] = (sum + scores[k], count + 1);
                }
            }
        }
        return sums.ToDictionary(kv => kv.Key, kv => Encode(kv.Value.Sum / kv.Value.Count, scaleMax));
    }

    private static byte Encode(double attention, float scaleMax) =>
        (byte)(1 + Math.Round(254 * Math.Clamp(scaleMax > 0 ? attention / scaleMax : 0, 0, 1)));

    // The heat map as slide content: level-0 pixel (i, j) is cell (i, j).
    private sealed class HeatMapContent(Dictionary<(long X, long Y), byte> cells, long width, long height) : ISlideContent
    {
        public long Width => width;

        public long Height => height;

        public (byte R, byte G, byte B) Background => (0, 0, 0);

        public bool IsBackground(double x0, double y0, double width, double height) =>
            !cells.Keys.Any(c => c.X + 1 > x0 && c.X < x0 + width && c.Y + 1 > y0 && c.Y < y0 + height);

        public void Render(double downsample, long levelX, long levelY, int width, int height, Span<byte> rgb)
        {
            for (int j = 0; j < height; j++)
            {
                long y = (long)((levelY + j + 0.5) * downsample);
                for (int i = 0; i < width; i++)
                {
                    long x = (long)((levelX + i + 0.5) * downsample);
                    byte value = cells.GetValueOrDefault((x, y));
                    rgb.Slice((j * width + i) * 3, 3).Fill(value);
                }
            }
        }
    }
}
