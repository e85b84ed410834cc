using System.Globalization;
using Ips.IO;
using Ips.Slides.Annotations;

namespace Ips.Data.Camelyon16;

/// <summary>
/// Slide content with metastasis-like regions: <see cref="SyntheticTissue"/> everywhere, except inside the
/// <see cref="Tumours"/> blobs, which hold tumour texture: crowded, enlarged, darker nuclei on a purpler stroma (what
/// makes metastases in lymph nodes stand out in H&amp;E). Tumour is tissue, so the tissue detection keeps it.
/// </summary>
public sealed class TumourTissue : ISlideContent
{
    /// <summary>Stroma between tumour nuclei, before the per-pixel texture.</summary>
    public static readonly (byte R, byte G, byte B) TumourStroma = (196, 120, 184);

    /// <summary>Tumour nuclei (hyperchromatic), before the per-pixel texture.</summary>
    public static readonly (byte R, byte G, byte B) TumourNucleus = (72, 34, 128);

    // One nucleus per cell of this many pixels, most cells filled, radius 3.5 .. 5 pixels: about twice the nuclear
    // density and area of the normal texture.
    private const int Cell = 11;
    private const double Filled = 0.85;
    private readonly SyntheticTissue _normal;
    private readonly ulong _seed;

    /// <summary>Normal content <paramref name="normal"/> with tumour inside <paramref name="tumours"/> (level-0 pixels).</summary>
    public TumourTissue(SyntheticTissue normal, IReadOnlyList<TissueBlob> tumours)
    {
        ArgumentNullException.ThrowIfNull(normal);
        ArgumentNullException.ThrowIfNull(tumours);
        _normal = normal;
        Tumours = tumours;
        _seed = (ulong)(uint)normal.Seed * 0xD1B54A32D192ED03UL + 0x8CB92BA72F3D8DD7UL;
    }

    /// <summary>The tumour regions.</summary>
    public IReadOnlyList<TissueBlob> Tumours { get; }

    /// <inheritdoc />
    public long Width => _normal.Width;

    /// <inheritdoc />
    public long Height => _normal.Height;

    /// <inheritdoc />
    public (byte R, byte G, byte B) Background => _normal.Background;

    /// <summary>Whether the level-0 point lies in a tumour region (and in the slide).</summary>
    public bool IsTumour(double x, double y) => x >= 0 && y >= 0 && x < Width && y < Height && Tumours.Any(t => t.Contains(x, y));

    /// <inheritdoc />
    public bool IsBackground(double x0, double y0, double width, double height) =>
        _normal.IsBackground(x0, y0, width, height) && !Tumours.Any(t => t.MayIntersect(x0, y0, width, height));

    /// <inheritdoc />
    public void Render(double downsample, long levelX, long levelY, int width, int height, Span<byte> rgb)
    {
        _normal.Render(downsample, levelX, levelY, width, height, rgb);
        double x0 = levelX * downsample, y0 = levelY * downsample;
        var near = Tumours.Where(t => t.MayIntersect(x0, y0, width * downsample, height * downsample)).ToArray();
        if (near.Length == 0)
        {
            return;
        }
        for (int j = 0; j < height; j++)
        {
            double y = (levelY + j + 0.5) * downsample;
            for (int i = 0; i < width; i++)
            {
                double x = (levelX + i + 0.5) * downsample;
                if (x >= Width || y >= Height || !near.Any(t => t.Contains(x, y)))
                {
                    continue;
                }
                long px = (long)Math.Floor(x), py = (long)Math.Floor(y);
                var stain = InNucleus(px, py) ? TumourNucleus : TumourStroma;
                int offset = (int)(Hash(px, py, 3) % (2 * SyntheticTissue.Texture + 1)) - SyntheticTissue.Texture;
                int at = (j * width + i) * 3;
                rgb[at] = (byte)Math.Clamp(stain.R + offset, 0, 255);
                rgb[at + 1] = (byte)Math.Clamp(stain.G + offset, 0, 255);
                rgb[at + 2] = (byte)Math.Clamp(stain.B + offset, 0, 255);
            }
        }
    }

    // A nucleus of radius 3.5 .. 5 in 85 % of the cells.
    private bool InNucleus(long px, long py) => SyntheticTissue.InCellDisc(_seed, 4, px, py, Cell, Filled, 3.5, 1.5);

    private ulong Hash(long a, long b, ulong stream) => SyntheticTissue.Hash(_seed, a, b, stream);
}

/// <summary>What <see cref="SyntheticCohort.Write"/> wrote for one slide.</summary>
/// <param name="SlideId">e.g. <c>tumor_003</c> or <c>test_002</c>.</param>
/// <param name="Path">The pyramidal TIFF.</param>
/// <param name="Tumour">Whether it holds tumour.</param>
/// <param name="Annotations">Its ASAP XML, for tumour slides.</param>
public sealed record CohortSlide(string SlideId, string Path, bool Tumour, string? Annotations);

/// <summary>
/// A mini CAMELYON16 cohort of generated slides, in the challenge's layout, for trying the whole pipeline without the
/// 700 GB download: <c>training/normal/normal_00k.tif</c>, <c>training/tumor/tumor_00k.tif</c> with
/// <c>training/lesion_annotations/tumor_00k.xml</c> (ASAP, group <c>Tumor</c>), <c>testing/images/test_00k.tif</c>
/// (every other one with tumour, annotated in <c>testing/lesion_annotations</c>) and <c>testing/reference.csv</c>.
/// Slides are JPEG-tiled pyramidal TIFFs of <see cref="SyntheticTissue"/>; tumour slides carry one or two
/// <see cref="TumourTissue"/> regions, each centred in a tissue region.
/// </summary>
public static class SyntheticCohort
{
    private const int OutlineVertices = 48;

    /// <summary>
    /// Writes <paramref name="perClass"/> normal and <paramref name="perClass"/> tumour training slides and
    /// <paramref name="test"/> test slides of <paramref name="size"/> x <paramref name="size"/> pixels into
    /// <paramref name="directory"/>; the same seed gives the same cohort. Existing slides are rewritten.
    /// </summary>
    public static IReadOnlyList<CohortSlide> Write(string directory, int perClass, int test, int size = 2048, int seed = 0, IProgress<CohortSlide>? progress = null)
    {
        if (perClass < 1 || test < 0)
        {
            throw new ArgumentException($"a cohort needs at least one slide per class and no negative test count (got {perClass} per class, {test} test)");
        }
        if (size < 512)
        {
            throw new ArgumentException($"slide size {size} is too small: at least 512 pixels, so that a slide holds several 256-pixel tiles");
        }
        var plan = new List<(string Id, string Folder, string? Annotations, bool Tumour)>();
        for (int k = 1; k <= perClass; k++)
        {
            plan.Add(($"normal_{k:000}", "training/normal", null, false));
            plan.Add(($"tumor_{k:000}", "training/tumor", "training/lesion_annotations", true));
        }
        for (int k = 1; k <= test; k++)
        {
            plan.Add(($"test_{k:000}", "testing/images", "testing/lesion_annotations", k % 2 == 1));
        }

        var written = new List<CohortSlide>();
        for (int s = 0; s < plan.Count; s++)
        {
            var (id, folder, annotationFolder, tumour) = plan[s];
            var slideSeed = seed * 1000 + s;
            var normal = new SyntheticTissue(size, size, slideSeed, tissueFraction: 0.3, blobRadius: size / 6.0);
            var regions = tumour ? TumourRegionsIn(normal, new Random(slideSeed)) : [];
            var path = Path.Combine(directory, folder, id + ".tif");
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            PyramidalTiffWriter.Write(path, new TumourTissue(normal, regions), new SlideWriteOptions { SmallestLevelSize = 512, MicronsPerPixel = 0.243 });
            string? xml = null;
            if (tumour)
            {
                xml = Path.Combine(directory, annotationFolder!, id + ".xml");
                Directory.CreateDirectory(Path.GetDirectoryName(xml)!);
                AsapAnnotations.Write(xml, regions.Select((region, k) =>
                {
                    var (x, y) = region.Outline(OutlineVertices);
                    return new AnnotationPolygon($"_{k}", x, y);
                }));
            }
            var slide = new CohortSlide(id, path, tumour, xml);
            written.Add(slide);
            progress?.Report(slide);
        }
        if (test > 0)
        {
            // The challenge's reference.csv: test_001,Tumor,Macro,... or test_002,Normal,,,  (no header).
            var reference = string.Concat(written.Where(w => w.SlideId.StartsWith("test_", StringComparison.Ordinal))
                .Select(w => string.Create(CultureInfo.InvariantCulture, $"{w.SlideId},{(w.Tumour ? "Tumor,Macro,," : "Normal,,,")}\n")));
            AtomicFile.Write(Path.Combine(directory, "testing", "reference.csv"), temporary => File.WriteAllText(temporary, reference));
        }
        return written;
    }

    // One or two tumour regions, each centred on a different tissue region, 0.8 to 1.1 times its smaller radius (it may reach past
    // the region: tumour is tissue too).
    private static List<TissueBlob> TumourRegionsIn(SyntheticTissue normal, Random random)
    {
        int count = Math.Min(normal.Blobs.Count, 1 + random.Next(2));
        return normal.Blobs.OrderBy(_ => random.Next()).Take(count).Select(host =>
        {
            double radius = Math.Min(host.RadiusX, host.RadiusY) * (0.8 + 0.3 * random.NextDouble());
            return new TissueBlob(host.CenterX, host.CenterY, radius, radius * (0.7 + 0.3 * random.NextDouble()), Math.PI * random.NextDouble(),
                0.1 * random.NextDouble(), 2 * Math.PI * random.NextDouble(), 0.05 * random.NextDouble(), 2 * Math.PI * random.NextDouble());
        }).ToList();
    }
}
