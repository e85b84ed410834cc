using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Ips.IO;
using Ips.Patches;
using Ips.Slides.Annotations;
using Ips.Slides.Exports;
using Ips.Slides.Tissue;

namespace Ips.Slides.Tiling;

/// <summary>How a slide of a tiling run ended.</summary>
public enum SlideTilingStatus
{
    /// <summary>Tiled now; its outputs were written.</summary>
    Done,

    /// <summary>Its outputs already existed from an earlier run with the same parameters.</summary>
    Skipped,

    /// <summary>It could not be tiled; see the error.</summary>
    Failed,

    /// <summary>Another process is tiling it into the same folder now (it holds the slide's lock); see the holder.</summary>
    Busy,
}

/// <summary>The outcome of one slide of a tiling run.</summary>
/// <param name="Slide">The slide file.</param>
/// <param name="Status">How it ended.</param>
/// <param name="Tiles">Kept tiles.</param>
/// <param name="Examined">Tiles of the grid examined (0 when skipped or failed).</param>
/// <param name="Threshold">The Otsu threshold (grey level), when known.</param>
/// <param name="Seconds">Wall time spent on the slide.</param>
/// <param name="Error">The error message of a failed slide.</param>
/// <param name="Holder">Who holds a busy slide's lock (process id, host, start time).</param>
public sealed record SlideTilingReport(
    string Slide, SlideTilingStatus Status, int Tiles, long Examined, double? Threshold, double Seconds, string? Error = null, string? Holder = null);

/// <summary>
/// Tiles one slide of a cohort into its output directory: <c>NAME.h5</c> (tile coordinates, <see cref="TileCoordsFile"/>)
/// and <c>NAME.qc.png</c> (<see cref="QcThumbnail"/>), where NAME is the slide's file name without extension. Each file
/// is written whole under a temporary name and renamed, the coordinates last, so the coordinates file marks a finished
/// slide: a rerun skips slides that have it (with the same parameters) and redoes any slide a killed run left
/// unfinished, removing its stale temporary files. A slide is tiled under its lock (<see cref="OutputLock"/>,
/// <c>.NAME.lock</c>), so several processes may tile into one folder: a slide locked by another is reported busy.
/// </summary>
public static class SlideTilingJob
{
    /// <summary>Longer side of the QC thumbnail in pixels.</summary>
    public const int ThumbnailSide = 1024;

    /// <summary>The coordinates file of <paramref name="slidePath"/> in <paramref name="outDirectory"/>.</summary>
    public static string CoordsPath(string outDirectory, string slidePath) => Path.Combine(outDirectory, Name(slidePath) + ".h5");

    /// <summary>The QC picture of <paramref name="slidePath"/> in <paramref name="outDirectory"/>.</summary>
    public static string QcPath(string outDirectory, string slidePath) => Path.Combine(outDirectory, Name(slidePath) + ".qc.png");

    /// <summary>The name outputs of <paramref name="slidePath"/> are called by: the file name without its extension.</summary>
    public static string Name(string slidePath) => Path.GetFileNameWithoutExtension(slidePath);

    /// <summary>
    /// The annotation file of <paramref name="slidePath"/> in <paramref name="annotationDirectory"/>
    /// (<c>NAME.xml</c>), null when the slide has none. CAMELYON16's tumour slides (names starting <c>tumor</c>) must
    /// have one, as the official pipeline requires: without it their tumour tiles would be silently missed.
    /// </summary>
    public static string? AnnotationPath(string? annotationDirectory, string slidePath)
    {
        if (annotationDirectory is null)
        {
            return null;
        }
        string path = Path.Combine(annotationDirectory, Name(slidePath) + ".xml");
        if (File.Exists(path))
        {
            return path;
        }
        if (Name(slidePath).StartsWith("tumor", StringComparison.OrdinalIgnoreCase))
        {
            throw new FileNotFoundException($"{path}: annotation file not found; tumour slide {Path.GetFileName(slidePath)} needs its lesion annotations", path);
        }
        return null;
    }

    /// <summary>
    /// Tiles <paramref name="slidePath"/> (opened with <paramref name="open"/>) into <paramref name="outDirectory"/>,
    /// or skips it when its outputs exist. Errors in the input propagate (as <see cref="InvalidDataException"/>,
    /// <see cref="IOException"/> or <see cref="ArgumentException"/>, naming the file) after being recorded in
    /// <c>NAME.failed</c> (<see cref="FailureRecord"/>); a slide with such a record is tried again only as
    /// <paramref name="failures"/> says (by default every failure of an earlier run is), otherwise it is reported failed
    /// with the recorded error. Cancellation leaves no finished-looking output behind. With
    /// <paramref name="geoJsonDirectory"/>, the tissue tiles of a slide tiled now are also written there as QuPath
    /// detections (<c>NAME.geojson</c>, <see cref="QuPathGeoJson"/>).
    /// </summary>
    public static SlideTilingReport Run(
        string slidePath, string outDirectory, TilingOptions options, string? annotationDirectory, Func<string, ISlide> open,
        IProgress<SlidePassProgress>? progress = null, CancellationToken cancel = default, FailureRetry? failures = null,
        string? geoJsonDirectory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(open);
        var clock = Stopwatch.StartNew();
        string coordsPath = CoordsPath(outDirectory, slidePath);
        if (File.Exists(coordsPath))
        {
            return Finished(slidePath, coordsPath, options, clock);
        }

        Directory.CreateDirectory(outDirectory);
        using var claim = OutputLock.TryAcquire(OutputLock.PathFor(outDirectory, Name(slidePath)), out var holder);
        if (claim is null)
        {
            return new SlideTilingReport(slidePath, SlideTilingStatus.Busy, 0, 0, null, clock.Elapsed.TotalSeconds, Holder: holder);
        }
        // Another process may have finished the slide between the check above and taking the lock.
        if (File.Exists(coordsPath))
        {
            return Finished(slidePath, coordsPath, options, clock);
        }
        if (FailureRecord.Read(outDirectory, Name(slidePath)) is { } failure
            && (failures ?? new FailureRetry(true, DateTime.UtcNow)).WhyNotRetried(failure) is { } why)
        {
            return new SlideTilingReport(slidePath, SlideTilingStatus.Failed, 0, 0, null, clock.Elapsed.TotalSeconds, $"{Path.GetFileName(slidePath)}: {why}");
        }
        // Temporaries of this slide are stale only now: before the lock they may be another process's files in progress.
        RemoveStaleTemporaries(outDirectory, Name(slidePath));
        try
        {
            var report = Tile(slidePath, outDirectory, options, annotationDirectory, open, progress, cancel, coordsPath, clock, geoJsonDirectory);
            FailureRecord.Clear(outDirectory, Name(slidePath));
            return report;
        }
        catch (Exception error) when (error is InvalidDataException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            // Recorded while the lock is still held, so no other process retries the slide in between.
            FailureRecord.Write(outDirectory, Name(slidePath), error.Message);
            throw;
        }
    }

    private static SlideTilingReport Tile(
        string slidePath, string outDirectory, TilingOptions options, string? annotationDirectory, Func<string, ISlide> open,
        IProgress<SlidePassProgress>? progress, CancellationToken cancel, string coordsPath, Stopwatch clock, string? geoJsonDirectory)
    {
        var annotationPath = AnnotationPath(annotationDirectory, slidePath);
        var tumour = annotationPath is null ? TumourRegions.None : AsapAnnotations.Read(annotationPath);

        using var slide = open(slidePath);
        options.Check(slide);
        int threshold = SlideTiler.Threshold(slide, options.EffectiveOtsuLevel, progress, cancel);
        var thumbnail = slide.ReadThumbnail(ThumbnailSide);
        var overlay = new MaskThumbnail(thumbnail.Width, thumbnail.Height, 1 / thumbnail.Downsample);
        var tiles = SlideTiler.Tile(slide, options, threshold, tumour, overlay, progress, cancel);
        // A stop after the last tile row still drops the slide. From the first write on the slide is finished instead:
        // a QC picture without its coordinates would be a file left behind.
        cancel.ThrowIfCancellationRequested();
        QcThumbnail.Write(QcPath(outDirectory, slidePath), thumbnail, overlay, tiles, tumour, QcTitle(slidePath, slide, options, tiles), slide.MicronsPerPixel?.X);
        if (geoJsonDirectory is not null)
        {
            QuPathGeoJson.Write(QuPathGeoJson.PathFor(geoJsonDirectory, slidePath), TissueObjects(tiles, annotated: annotationPath is not null));
        }
        TileCoordsFile.Write(coordsPath, Name(slidePath), tiles, options, slide);
        return new SlideTilingReport(slidePath, SlideTilingStatus.Done, tiles.Count, tiles.Grid.Count, tiles.Threshold, clock.Elapsed.TotalSeconds);
    }

    // Tissue tiles as QuPath detections: "Tumor" where at least half the tile is annotated tumour, else "Tissue".
    private static IEnumerable<TileObject> TissueObjects(TileSet tiles, bool annotated)
    {
        int side = tiles.Grid.TileSize0;
        for (int i = 0; i < tiles.Count; i++)
        {
            bool tumour = tiles.TumourFraction[i] >= 0.5f;
            (string, double)[] measurements = annotated
                ? [("tissue fraction", tiles.TissueFraction[i]), ("tumour fraction", tiles.TumourFraction[i])]
                : [("tissue fraction", tiles.TissueFraction[i])];
            yield return new TileObject(
                new PixelBox(tiles.X[i], tiles.Y[i], side, side), QuPathGeoJson.Detection,
                tumour ? "Tumor" : "Tissue", tumour ? ((byte)230, (byte)0, (byte)0) : ((byte)20, (byte)60, (byte)255), measurements);
        }
    }

    private static string[] QcTitle(string slidePath, ISlide slide, TilingOptions options, TileSet tiles) =>
    [
        Path.GetFileName(slidePath),
        string.Create(CultureInfo.InvariantCulture,
            $"{tiles.Count} tissue tiles of {options.TileSize} px at level {options.Level} (of {tiles.Grid.Count} in the grid); {slide.Levels[0].Width} x {slide.Levels[0].Height} px at level 0"),
    ];

    private static SlideTilingReport Finished(string slidePath, string coordsPath, TilingOptions options, Stopwatch clock)
    {
        var existing = TileCoordsFile.Read(coordsPath);
        if (!existing.Info.Matches(options))
        {
            throw new InvalidDataException(
                $"{coordsPath}: already holds tiles cut with {existing.Info}, not with {Describe(options)}; delete it or choose another --out");
        }
        return new SlideTilingReport(slidePath, SlideTilingStatus.Skipped, existing.Count, 0, existing.Info.OtsuThreshold, clock.Elapsed.TotalSeconds);
    }

    private static string Describe(TilingOptions options) => TileCoordsInfo.Of(options).ToString();

    /// <summary>
    /// Deletes the temporary files that writes of the outputs of slide <paramref name="name"/> (<c>NAME.h5</c>,
    /// <c>NAME.qc.png</c>) left in <paramref name="outDirectory"/> when their process was killed. Only safe under the
    /// slide's <see cref="OutputLock"/>: without it they may be another process's files in progress.
    /// </summary>
    public static void RemoveStaleTemporaries(string outDirectory, string name)
    {
        // AtomicFile names its temporaries ".NAME.<32 hex>.tmpEXT".
        var pattern = new Regex($"^\\.{Regex.Escape(name)}(\\.qc)?\\.[0-9a-f]{{32}}\\.tmp\\.(h5|png)$", RegexOptions.CultureInvariant);
        foreach (var file in Directory.EnumerateFiles(outDirectory, "." + name + ".*"))
        {
            if (pattern.IsMatch(Path.GetFileName(file)))
            {
                File.Delete(file);
            }
        }
    }
}
