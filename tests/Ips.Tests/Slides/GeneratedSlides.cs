using Ips.Data.Camelyon16;

namespace Ips.Tests.Slides;

/// <summary>Small generated slides shared by the slide tests: written once per test class, deleted after.</summary>
public sealed class GeneratedSlides : IDisposable
{
    /// <summary>Level-0 size: 8 x 6 tiles of 256, four levels down to 256 x 192.</summary>
    public const int Width = 2048, Height = 1536, Tile = 256;

    private readonly string _folder = Directory.CreateTempSubdirectory("ips-slides-").FullName;

    public GeneratedSlides()
    {
        Content = new SyntheticTissue(Width, Height, seed: 7, tissueFraction: 0.3, blobRadius: 300);
        var options = new SlideWriteOptions { TileSize = Tile, SmallestLevelSize = 256, MicronsPerPixel = 0.5 };
        Jpeg = Write("jpeg.tif", options);
        Lzw = Write("lzw.tif", options with { Compression = SlideCompression.Lzw });
        Deflate = Write("deflate.tif", options with { Compression = SlideCompression.Deflate });
        Svs = Write("aperio.svs", options with { Aperio = true, ObjectivePower = 20, MicronsPerPixel = 0.499 });
    }

    public SyntheticTissue Content { get; }

    public string Jpeg { get; }

    public string Lzw { get; }

    public string Deflate { get; }

    public string Svs { get; }

    /// <summary>The generated slide of a kind: <c>jpeg</c>, <c>lzw</c>, <c>deflate</c> or <c>svs</c>.</summary>
    public string this[string kind] => kind switch
    {
        "jpeg" => Jpeg,
        "lzw" => Lzw,
        "deflate" => Deflate,
        "svs" => Svs,
        _ => throw new ArgumentException(kind),
    };

    public string Scratch(string name) => Path.Combine(_folder, name);

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string Write(string name, SlideWriteOptions options)
    {
        var path = Scratch(name);
        PyramidalTiffWriter.Write(path, Content, options);
        return path;
    }

    /// <summary>
    /// The expected pixels of a region read the OpenSlide way (level-0 corner, level-sized extent), rendered straight
    /// from the content: outside the slide is white.
    /// </summary>
    public byte[] Expected(int level, long x, long y, int width, int height)
    {
        long downsample = 1L << level;
        long left = x / downsample, top = y / downsample;
        long levelWidth = (Width + downsample - 1) / downsample, levelHeight = (Height + downsample - 1) / downsample;
        var rgb = new byte[width * height * 3];
        var pixel = new byte[3];
        for (int j = 0; j < height; j++)
        {
            for (int i = 0; i < width; i++)
            {
                long lx = left + i, ly = top + j;
                if (lx < 0 || ly < 0 || lx >= levelWidth || ly >= levelHeight)
                {
                    rgb.AsSpan((j * width + i) * 3, 3).Fill(255);
                    continue;
                }
                Content.Render(downsample, lx, ly, 1, 1, pixel);
                pixel.CopyTo(rgb, (j * width + i) * 3);
            }
        }
        return rgb;
    }
}
