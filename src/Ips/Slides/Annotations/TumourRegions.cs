namespace Ips.Slides.Annotations;

/// <summary>
/// Annotated tumour of one slide: the union of the tumour polygons minus the union of the exclusion polygons, in
/// level-0 pixels. Answers how much of a tile is tumour by scanning the tile's pixel rows: along each row the covered
/// length is exact (the polygons' crossings of the row's centre line, filled even-odd per polygon), across rows it is
/// sampled at the centres of the tile's pixel rows, the resolution at which the tile is seen.
/// </summary>
public sealed class TumourRegions
{
    private readonly AnnotationPolygon[] _tumour;
    private readonly AnnotationPolygon[] _exclusions;
    private readonly double _top, _bottom;

    /// <summary>Regions from tumour polygons and exclusion polygons (level-0 pixels).</summary>
    public TumourRegions(IEnumerable<AnnotationPolygon> tumour, IEnumerable<AnnotationPolygon> exclusions)
    {
        _tumour = [.. tumour];
        _exclusions = [.. exclusions];
        _top = _tumour.Length == 0 ? double.PositiveInfinity : _tumour.Min(p => p.Y.Min());
        _bottom = _tumour.Length == 0 ? double.NegativeInfinity : _tumour.Max(p => p.Y.Max());
    }

    /// <summary>No annotations: no tile is tumour.</summary>
    public static TumourRegions None { get; } = new([], []);

    /// <summary>The tumour polygons.</summary>
    public IReadOnlyList<AnnotationPolygon> Tumour => _tumour;

    /// <summary>The polygons excluded from tumour.</summary>
    public IReadOnlyList<AnnotationPolygon> Exclusions => _exclusions;

    /// <summary>
    /// The tumour fraction of each tile of one row of tiles: the tiles span level-0 rows
    /// <c>[<paramref name="top"/>, top + <paramref name="rows"/> * <paramref name="rowStep"/>)</c> and columns
    /// <c>[left, left + <paramref name="tileWidth"/>)</c> for each <c>left</c> of <paramref name="lefts"/>;
    /// the rows are sampled at their centres <c>top + (r + 0.5) rowStep</c>. Fractions are written to
    /// <paramref name="fractions"/> (one per tile, 0 when the row misses every tumour polygon).
    /// </summary>
    public void RowFractions(double top, int rows, double rowStep, ReadOnlySpan<long> lefts, double tileWidth, Span<float> fractions)
    {
        if (fractions.Length != lefts.Length)
        {
            throw new ArgumentException($"{lefts.Length} tiles but room for {fractions.Length} fractions", nameof(fractions));
        }
        fractions.Clear();
        if (top > _bottom || top + rows * rowStep < _top)
        {
            return;
        }

        var covered = new double[lefts.Length];
        var tumour = new List<(double From, double To)>();
        var excluded = new List<(double From, double To)>();
        var crossings = new List<double>();
        for (int r = 0; r < rows; r++)
        {
            double y = top + (r + 0.5) * rowStep;
            Intervals(_tumour, y, crossings, tumour);
            if (tumour.Count == 0)
            {
                continue;
            }
            Intervals(_exclusions, y, crossings, excluded);
            for (int t = 0; t < lefts.Length; t++)
            {
                double from = lefts[t], to = from + tileWidth;
                covered[t] += Length(tumour, from, to) - Overlap(tumour, excluded, from, to);
            }
        }
        for (int t = 0; t < lefts.Length; t++)
        {
            fractions[t] = (float)Math.Clamp(covered[t] / (rows * tileWidth), 0, 1);
        }
    }

    // The union of the polygons' insides along the line at y, as sorted disjoint intervals.
    private static void Intervals(AnnotationPolygon[] polygons, double y, List<double> crossings, List<(double From, double To)> union)
    {
        union.Clear();
        foreach (var polygon in polygons)
        {
            crossings.Clear();
            int n = polygon.X.Length;
            for (int i = 0, j = n - 1; i < n; j = i++)
            {
                double yi = polygon.Y[i], yj = polygon.Y[j];
                // Half-open in y, so a vertex on the line counts once and horizontal edges never.
                if ((yi <= y) != (yj <= y))
                {
                    crossings.Add(polygon.X[i] + (y - yi) * (polygon.X[j] - polygon.X[i]) / (yj - yi));
                }
            }
            crossings.Sort();
            for (int k = 0; k + 1 < crossings.Count; k += 2)
            {
                union.Add((crossings[k], crossings[k + 1]));
            }
        }
        if (union.Count < 2)
        {
            return;
        }
        union.Sort();
        int kept = 0;
        for (int k = 1; k < union.Count; k++)
        {
            if (union[k].From <= union[kept].To)
            {
                union[kept] = (union[kept].From, Math.Max(union[kept].To, union[k].To));
            }
            else
            {
                union[++kept] = union[k];
            }
        }
        union.RemoveRange(kept + 1, union.Count - kept - 1);
    }

    // Length of the intervals within [from, to).
    private static double Length(List<(double From, double To)> intervals, double from, double to)
    {
        double length = 0;
        foreach (var (a, b) in intervals)
        {
            length += Math.Max(0, Math.Min(b, to) - Math.Max(a, from));
        }
        return length;
    }

    // Length of the intersection of two sets of disjoint intervals within [from, to).
    private static double Overlap(List<(double From, double To)> first, List<(double From, double To)> second, double from, double to)
    {
        double length = 0;
        foreach (var (a, b) in first)
        {
            foreach (var (c, d) in second)
            {
                length += Math.Max(0, Math.Min(Math.Min(b, d), to) - Math.Max(Math.Max(a, c), from));
            }
        }
        return length;
    }
}
