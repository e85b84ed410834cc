using System.Globalization;
using Ips.Configuration;
using Ips.Imaging;
using Ips.Slides;
using Ips.Slides.Tiling;

namespace Ips.Data.OwnImages;

/// <summary>The tiles one slide of your own data set is made of: how each is read, and their level-0 top-left corners.</summary>
/// <param name="Sampling">How a tile is read (level, region, resize), from the coordinates file or level 0 at the patch size.</param>
/// <param name="Coordinates">Level-0 top-left corner of each tile, in the order that makes the tile indices.</param>
public sealed record SlideTilePlan(TileSampling Sampling, IReadOnlyList<(long X, long Y)> Coordinates);

/// <summary>What opening one slide of your own data set found.</summary>
/// <param name="Width">Level-0 width in pixels (0 when the slide does not open).</param>
/// <param name="Height">Level-0 height in pixels.</param>
/// <param name="Tiles">Its number of tiles, the slide's N (0 with a problem).</param>
/// <param name="Problem">Why the slide cannot be used, or null.</param>
public sealed record SlideSurvey(long Width, long Height, int Tiles, string? Problem);

/// <summary>
/// Whole slides in your own data set (docs/own-data.md, "Slides"). A listed file is a slide when the config has
/// <c>coords_dir</c> (then every file is one), when its format is one only slide readers open (SVS, NDPI, MRXS, ...),
/// or when it is a TIFF with a pyramid (more than one level); any other TIFF is an image, decoded whole. A slide's
/// patches are its tiles, read from disk as selection asks for them (<see cref="SlideTileSource"/>): the tissue tiles
/// of its <c>NAME.h5</c> in <c>coords_dir</c>, as <c>ips slides tile</c> wrote them, at the level or resolution that
/// file records; without <c>coords_dir</c>, every tile of level 0's grid, windows of <c>patch_size</c> every
/// <c>patch_stride</c> until one reaches the last row and column (beyond the slide is white).
/// </summary>
public static class OwnSlides
{
    /// <summary>Whether the file at <paramref name="path"/> is read as a slide under <paramref name="config"/>.</summary>
    public static bool IsSlide(IpsConfig config, string path)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(path);
        if (config.CoordsDir is not null)
        {
            return true;
        }
        var extension = Path.GetExtension(path).ToLowerInvariant();
        if (!ImageFile.Extensions.Contains(extension))
        {
            return SlideOpener.IsSlidePath(path);
        }
        if (extension is not (".tif" or ".tiff"))
        {
            return false;
        }
        // Only the directory of the file is read here; a TIFF the slide reader refuses (16-bit samples, one strip)
        // is an image, and its decoding problems are the image decoder's to report.
        try
        {
            using var slide = TiffSlide.Open(path);
            return slide.Levels.Count > 1;
        }
        catch (Exception error) when (error is IOException or InvalidDataException or ArgumentException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>The folder <c>coords_dir</c> names, taken from <c>data_dir</c> when relative; null when the config has none.</summary>
    public static string? CoordsFolder(IpsConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return config.CoordsDir is { } folder ? Path.Combine(config.DataDir, folder) : null;
    }

    /// <summary>The tiles of <paramref name="slide"/> (the file <paramref name="slidePath"/>) under <paramref name="config"/>.</summary>
    /// <exception cref="FileNotFoundException"><c>coords_dir</c> holds no coordinates file for the slide.</exception>
    /// <exception cref="InvalidDataException">The coordinates file is unreadable or was made with another tile size.</exception>
    /// <exception cref="ArgumentException">The slide lacks the level or resolution the coordinates file records.</exception>
    public static SlideTilePlan Plan(IpsConfig config, ISlide slide, string slidePath)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(slide);
        int patch = config.PatchSize![0], stride = config.PatchStride![0];
        if (CoordsFolder(config) is not { } folder)
        {
            return new SlideTilePlan(TileSampling.AtLevel(0, patch), Grid(slide.Levels[0].Width, slide.Levels[0].Height, patch, stride));
        }
        var file = SlideTilingJob.CoordsPath(folder, slidePath);
        if (!File.Exists(file))
        {
            throw new FileNotFoundException(
                $"no tile coordinates file {Path.GetFileName(file)} in coords_dir '{folder}'; run `ips slides tile` on the slide with --out {folder} --tile-size {patch}", file);
        }
        var tiles = TileCoordsFile.Read(file);
        if (tiles.Info.PatchSize != patch)
        {
            throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                $"{Path.GetFileName(file)} in coords_dir holds tiles of {tiles.Info.PatchSize} px, but patch_size is [{patch}, {patch}]; set patch_size and patch_stride to [{tiles.Info.PatchSize}, {tiles.Info.PatchSize}], or tile again with --tile-size {patch}"));
        }
        var corners = new (long X, long Y)[tiles.Count];
        for (var i = 0; i < corners.Length; i++)
        {
            corners[i] = (tiles.Coords[i, 0], tiles.Coords[i, 1]);
        }
        return new SlideTilePlan(tiles.Info.Sampling(slide), corners);
    }

    /// <summary>
    /// Opens the slide at <paramref name="path"/> (its header, not its pixels) and counts its tiles under
    /// <paramref name="config"/>; what prevents that is the survey's <see cref="SlideSurvey.Problem"/>, one line
    /// without the path: a slide that does not open, a missing or unreadable coordinates file, another tile size.
    /// </summary>
    public static SlideSurvey Survey(IpsConfig config, string path)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(path);
        ISlide slide;
        try
        {
            slide = SlideOpener.Open(path);
        }
        catch (Exception error) when (error is InvalidDataException or IOException or ArgumentException or UnauthorizedAccessException)
        {
            return new SlideSurvey(0, 0, 0, $"the slide does not open: {WithoutPath(error.Message, path)}");
        }
        using (slide)
        {
            var level0 = slide.Levels[0];
            try
            {
                return new SlideSurvey(level0.Width, level0.Height, Plan(config, slide, path).Coordinates.Count, null);
            }
            catch (Exception error) when (error is InvalidDataException or IOException or ArgumentException or UnauthorizedAccessException or OverflowException)
            {
                return new SlideSurvey(level0.Width, level0.Height, 0, WithoutPath(error.Message, path));
            }
        }
    }

    /// <summary><paramref name="message"/> without a leading <c>path: </c>, for a problem that names the file already.</summary>
    internal static string WithoutPath(string message, string path) =>
        message.StartsWith(path + ": ", StringComparison.Ordinal) ? message[(path.Length + 2)..] : message;

    // Row-major corners of windows every stride until one reaches the last pixel, as your own images are padded.
    private static (long X, long Y)[] Grid(long width, long height, int patch, int stride)
    {
        long columns = Starts(width, patch, stride), rows = Starts(height, patch, stride);
        var corners = new (long X, long Y)[checked((int)(columns * rows))];
        for (long r = 0; r < rows; r++)
        {
            for (long c = 0; c < columns; c++)
            {
                corners[r * columns + c] = (c * stride, r * stride);
            }
        }
        return corners;
    }

    private static long Starts(long length, int patch, int stride) => length <= patch ? 1 : (length - patch + stride - 1) / stride + 1;
}
