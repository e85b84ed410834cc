namespace Ips.Data.Camelyon16;

/// <summary>
/// One tissue-like region of a <see cref="SyntheticTissue"/>: an ellipse centred at (<see cref="CenterX"/>,
/// <see cref="CenterY"/>) with radii <see cref="RadiusX"/>, <see cref="RadiusY"/> turned by <see cref="Angle"/>, whose
/// boundary is made irregular by two angular harmonics: a point at normalised radius <c>rho</c> and angle
/// <c>theta</c> (in the ellipse's frame) is inside when
/// <c>rho &lt; 1 + Wobble3 sin(3 theta + Phase3) + Wobble5 sin(5 theta + Phase5)</c>.
/// </summary>
public sealed class TissueBlob(
    double centerX, double centerY, double radiusX, double radiusY, double angle,
    double wobble3, double phase3, double wobble5, double phase5)
{
    // The rotation and radii as used per pixel, computed once.
    private readonly double _cos = Math.Cos(angle), _sin = Math.Sin(angle), _inverseRx = 1 / radiusX, _inverseRy = 1 / radiusY;

    /// <summary>Centre, level-0 x.</summary>
    public double CenterX { get; } = centerX;

    /// <summary>Centre, level-0 y.</summary>
    public double CenterY { get; } = centerY;

    /// <summary>Radius along the ellipse's first axis.</summary>
    public double RadiusX { get; } = radiusX;

    /// <summary>Radius along the ellipse's second axis.</summary>
    public double RadiusY { get; } = radiusY;

    /// <summary>Angle of the first axis to the x axis, radians.</summary>
    public double Angle { get; } = angle;

    /// <summary>Amplitude of the third angular harmonic of the boundary.</summary>
    public double Wobble3 { get; } = wobble3;

    /// <summary>Phase of the third harmonic.</summary>
    public double Phase3 { get; } = phase3;

    /// <summary>Amplitude of the fifth angular harmonic of the boundary.</summary>
    public double Wobble5 { get; } = wobble5;

    /// <summary>Phase of the fifth harmonic.</summary>
    public double Phase5 { get; } = phase5;

    /// <summary>The largest normalised radius the boundary reaches; the blob lies within this many radii of its centre.</summary>
    public double MaxExtent => 1 + Wobble3 + Wobble5;

    /// <summary>The smallest normalised radius of the boundary: every point closer is inside.</summary>
    public double MinExtent => 1 - Wobble3 - Wobble5;

    /// <summary>Half the side of an axis-aligned square around the centre that holds the whole blob.</summary>
    public double BoundingHalfSide => Math.Max(RadiusX, RadiusY) * MaxExtent;

    /// <summary>Whether the level-0 point (<paramref name="x"/>, <paramref name="y"/>) lies inside the blob.</summary>
    public bool Contains(double x, double y)
    {
        double dx = x - CenterX, dy = y - CenterY;
        double u = (dx * _cos + dy * _sin) * _inverseRx, v = (-dx * _sin + dy * _cos) * _inverseRy;
        double rho2 = u * u + v * v, inner = MinExtent, outer = MaxExtent;
        if (rho2 < inner * inner)
        {
            return true;
        }
        if (rho2 >= outer * outer)
        {
            return false;
        }
        double theta = Math.Atan2(v, u);
        return Math.Sqrt(rho2) < 1 + Wobble3 * Math.Sin(3 * theta + Phase3) + Wobble5 * Math.Sin(5 * theta + Phase5);
    }

    /// <summary>
    /// The boundary as a polygon of <paramref name="vertices"/> level-0 points at equal angles of the ellipse's frame
    /// (e.g. for an annotation of the blob).
    /// </summary>
    public (double[] X, double[] Y) Outline(int vertices)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(vertices, 3);
        var (xs, ys) = (new double[vertices], new double[vertices]);
        for (int k = 0; k < vertices; k++)
        {
            double theta = 2 * Math.PI * k / vertices;
            double rho = 1 + Wobble3 * Math.Sin(3 * theta + Phase3) + Wobble5 * Math.Sin(5 * theta + Phase5);
            double u = rho * Math.Cos(theta) * RadiusX, v = rho * Math.Sin(theta) * RadiusY; // in the ellipse's frame
            xs[k] = CenterX + u * _cos - v * _sin;
            ys[k] = CenterY + u * _sin + v * _cos;
        }
        return (xs, ys);
    }

    /// <summary>Whether the blob's bounding square meets the level-0 rectangle at (<paramref name="x0"/>, <paramref name="y0"/>).</summary>
    public bool MayIntersect(double x0, double y0, double width, double height)
    {
        double half = BoundingHalfSide;
        return CenterX + half > x0 && CenterX - half < x0 + width && CenterY + half > y0 && CenterY - half < y0 + height;
    }
}

/// <summary>
/// Synthetic H&amp;E-like slide content for tests and benchmarks: irregular pink (eosin) regions dotted with purple
/// (haematoxylin) nuclei on near-white glass, deterministic from a seed. Whether a point is tissue is exactly
/// computable (<see cref="IsTissue"/>), so tests know the expected tissue mask at every level. The glass is one
/// uniform colour, so a writer can reuse one encoded background tile and a 100k x 100k slide stays small.
/// </summary>
public sealed class SyntheticTissue : ISlideContent
{
    /// <summary>The colour of the glass.</summary>
    public static readonly (byte R, byte G, byte B) Glass = (241, 239, 243);

    /// <summary>Base colour of tissue away from nuclei (eosin pink), before the per-pixel texture.</summary>
    public static readonly (byte R, byte G, byte B) Eosin = (226, 148, 196);

    /// <summary>Colour of nuclei (haematoxylin purple), before the per-pixel texture.</summary>
    public static readonly (byte R, byte G, byte B) Haematoxylin = (104, 58, 152);

    /// <summary>Per-pixel texture: every channel of a tissue pixel moves by the same offset in [-Texture, Texture].</summary>
    public const int Texture = 8;

    // Nuclei sit one per cell of this many level-0 pixels (some cells are empty), wholly inside their cell.
    private const int NucleusCell = 14;
    private const double NucleusFraction = 0.4;
    private readonly ulong _seed;

    /// <summary>
    /// Content of a <paramref name="width"/> x <paramref name="height"/> slide with regions placed from
    /// <paramref name="seed"/>. About <paramref name="tissueFraction"/> of the area is covered (less where regions
    /// overlap); <paramref name="blobRadius"/> is the mean region radius in level-0 pixels (default: an eighth of the
    /// shorter side, within 64 .. 3000).
    /// </summary>
    public SyntheticTissue(long width, long height, int seed, double tissueFraction = 0.1, double? blobRadius = null)
    {
        if (width <= 0 || height <= 0)
        {
            throw new ArgumentException($"slide size must be positive, got {width} x {height}");
        }
        if (tissueFraction is <= 0 or > 1)
        {
            throw new ArgumentException($"tissue fraction must be in (0, 1], got {tissueFraction}", nameof(tissueFraction));
        }

        Width = width;
        Height = height;
        Seed = seed;
        _seed = (ulong)(uint)seed * 0x9E3779B97F4A7C15UL + 0x632BE59BD9B4E019UL;
        double radius = blobRadius ?? Math.Clamp(Math.Min(width, height) / 8.0, 64, 3000);
        if (radius <= 0)
        {
            throw new ArgumentException($"blob radius must be positive, got {radius}", nameof(blobRadius));
        }

        var random = new Random(seed);
        int count = (int)Math.Max(1, Math.Round(tissueFraction * width * height / (Math.PI * radius * radius)));
        var blobs = new TissueBlob[count];
        for (int i = 0; i < count; i++)
        {
            double rx = radius * (0.7 + 0.6 * random.NextDouble()), ry = radius * (0.7 + 0.6 * random.NextDouble());
            double w3 = 0.12 * random.NextDouble(), w5 = 0.08 * random.NextDouble();
            double margin = Math.Max(rx, ry) * (1 + w3 + w5);
            blobs[i] = new TissueBlob(
                Place(random, width, margin), Place(random, height, margin), rx, ry, Math.PI * random.NextDouble(),
                w3, 2 * Math.PI * random.NextDouble(), w5, 2 * Math.PI * random.NextDouble());
        }
        Blobs = blobs;
    }

    /// <summary>The seed the regions and texture derive from.</summary>
    public int Seed { get; }

    /// <summary>The tissue regions.</summary>
    public IReadOnlyList<TissueBlob> Blobs { get; }

    /// <inheritdoc />
    public long Width { get; }

    /// <inheritdoc />
    public long Height { get; }

    /// <inheritdoc />
    public (byte R, byte G, byte B) Background => Glass;

    /// <summary>Whether the level-0 point (<paramref name="x"/>, <paramref name="y"/>) is tissue (inside the slide and a region).</summary>
    public bool IsTissue(double x, double y) =>
        x >= 0 && y >= 0 && x < Width && y < Height && Blobs.Any(blob => blob.Contains(x, y));

    /// <inheritdoc />
    public bool IsBackground(double x0, double y0, double width, double height) =>
        !Blobs.Any(blob => blob.MayIntersect(x0, y0, width, height));

    /// <inheritdoc />
    public void Render(double downsample, long levelX, long levelY, int width, int height, Span<byte> rgb)
    {
        if (rgb.Length < width * height * 3)
        {
            throw new ArgumentException($"the buffer holds {rgb.Length} bytes, {width} x {height} RGB needs {width * height * 3}", nameof(rgb));
        }

        double x0 = levelX * downsample, y0 = levelY * downsample;
        var near = Blobs.Where(blob => blob.MayIntersect(x0, y0, width * downsample, height * downsample)).ToArray();
        for (int j = 0; j < height; j++)
        {
            double y = (levelY + j + 0.5) * downsample;
            for (int i = 0; i < width; i++)
            {
                double x = (levelX + i + 0.5) * downsample;
                var (r, g, b) = ColourAt(near, x, y);
                int at = (j * width + i) * 3;
                rgb[at] = r;
                rgb[at + 1] = g;
                rgb[at + 2] = b;
            }
        }
    }

    private (byte R, byte G, byte B) ColourAt(TissueBlob[] near, double x, double y)
    {
        if (x >= Width || y >= Height || !InAny(near, x, y))
        {
            return Glass;
        }

        long px = (long)Math.Floor(x), py = (long)Math.Floor(y);
        var stain = InNucleus(px, py) ? Haematoxylin : Eosin;
        int offset = (int)(Hash(px, py, 1) % (2 * Texture + 1)) - Texture;
        return (Shift(stain.R, offset), Shift(stain.G, offset), Shift(stain.B, offset));
    }

    private static bool InAny(TissueBlob[] near, double x, double y)
    {
        foreach (var blob in near)
        {
            if (blob.Contains(x, y))
            {
                return true;
            }
        }
        return false;
    }

    // A nucleus is a disc of radius 2.5 .. 4.5 in 40 % of the cells.
    private bool InNucleus(long px, long py) => InCellDisc(_seed, 2, px, py, NucleusCell, NucleusFraction, 2.5, 2.0);

    /// <summary>
    /// Whether pixel (<paramref name="px"/>, <paramref name="py"/>) lies in the disc of its <paramref name="cell"/>-pixel
    /// grid cell: a <paramref name="filled"/> fraction of the cells hold one disc of radius
    /// <paramref name="radius"/> .. radius + <paramref name="radiusSpan"/> (at most 5), its centre jittered inside the cell
    /// at least 5 pixels from the cell's edges, so the disc never leaves the cell and one cell's hash decides each pixel.
    /// </summary>
    internal static bool InCellDisc(ulong seed, ulong stream, long px, long py, int cell, double filled, double radius, double radiusSpan)
    {
        long cx = Math.DivRem(px, cell, out long rx), cy = Math.DivRem(py, cell, out long ry);
        ulong h = Hash(seed, cx, cy, stream);
        if ((h & 0xFFFF) >= filled * 0x10000)
        {
            return false;
        }
        double r = radius + radiusSpan * ((h >> 16) & 0xFF) / 255.0;
        double centreX = 5 + (cell - 10) * (double)((h >> 24) & 0xFF) / 255.0;
        double centreY = 5 + (cell - 10) * (double)((h >> 32) & 0xFF) / 255.0;
        double dx = rx + 0.5 - centreX, dy = ry + 0.5 - centreY;
        return dx * dx + dy * dy <= r * r;
    }

    private ulong Hash(long a, long b, ulong stream) => Hash(_seed, a, b, stream);

    /// <summary>
    /// A well-mixed 64-bit hash of <paramref name="seed"/>, two coordinates and a stream id, the same in every process
    /// (unlike <see cref="HashCode"/>): per-pixel texture of generated content.
    /// </summary>
    internal static ulong Hash(ulong seed, long a, long b, ulong stream)
    {
        // SplitMix64 finaliser over the seed, the two coordinates and a stream id: cheap, well mixed, deterministic.
        ulong z = seed ^ (ulong)a * 0xBF58476D1CE4E5B9UL ^ (ulong)b * 0x94D049BB133111EBUL ^ stream * 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    private static byte Shift(byte value, int offset) => (byte)Math.Clamp(value + offset, 0, 255);

    private static double Place(Random random, long extent, double margin) =>
        2 * margin >= extent ? extent / 2.0 : margin + (extent - 2 * margin) * random.NextDouble();
}
