using Ips.IO;

namespace Ips.Slides.TileSets;

/// <summary>Opens the <c>--tiles</c> inputs of pre-training as one tile set.</summary>
public static class TileInputs
{
    /// <summary>
    /// One <see cref="ITileSet"/> over <paramref name="inputs"/>, each a directory of PNG/JPEG/TIFF tiles, a tile
    /// coordinates <c>.h5</c> file, or a directory of them (as <c>ips slides tile</c> writes; a directory with any
    /// <c>.h5</c> file counts as one, its images being quality-control pictures). A coordinates file
    /// <c>NAME.h5</c> reads the slide <c>NAME.*</c> (any slide extension) in <paramref name="slides"/> or a folder below it. Throws a
    /// message naming the input when one does not exist, holds no tiles, or its slide is not found.
    /// </summary>
    public static ITileSet Open(IReadOnlyList<string> inputs, string? slides = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (inputs.Count == 0)
        {
            throw new ArgumentException("no tiles given: pass --tiles DIR (a directory of PNG/JPEG tiles, or of tile coordinates .h5 files with --slides DIR) or set 'tiles' in the config.");
        }
        var sets = new List<ITileSet>();
        try
        {
            foreach (var input in inputs)
            {
                sets.AddRange(OpenOne(input, slides));
            }
        }
        catch
        {
            foreach (var set in sets)
            {
                set.Dispose();
            }
            throw;
        }
        return sets.Count == 1 ? sets[0] : new ConcatenatedTiles(sets);
    }

    private static IEnumerable<ITileSet> OpenOne(string input, string? slides)
    {
        if (File.Exists(input))
        {
            if (!IsCoords(input))
            {
                throw new ArgumentException($"--tiles {input}: expected a directory of PNG/JPEG/TIFF tiles or a tile coordinates .h5 file.");
            }
            yield return Slide(input, slides);
            yield break;
        }
        if (!Directory.Exists(input))
        {
            throw new FileNotFoundException($"--tiles {input}: no such directory or file.", input);
        }
        // A folder of coordinates files (from `ips slides tile`) also holds quality-control PNGs, which are not tiles.
        var coords = Directory.EnumerateFiles(input).Where(IsCoords).Order(StringComparer.Ordinal).ToList();
        foreach (var file in coords)
        {
            yield return Slide(file, slides);
        }
        if (coords.Count > 0)
        {
            yield break;
        }
        var images = new ImageDirectoryTiles(input);
        if (images.Count == 0)
        {
            throw new NoInputException($"--tiles {input}: no PNG/JPEG/TIFF tiles and no tile coordinates .h5 files there.");
        }
        yield return images;
    }

    private static bool IsCoords(string path) => Path.GetExtension(path).Equals(".h5", StringComparison.OrdinalIgnoreCase);

    private static SlideTiles Slide(string coords, string? slides)
    {
        var name = Path.GetFileNameWithoutExtension(coords);
        if (slides is null)
        {
            throw new ArgumentException($"--tiles {coords}: a tile coordinates file needs --slides DIR, the folder holding {name}.tif (or another slide format).");
        }
        if (!Directory.Exists(slides))
        {
            throw new DirectoryNotFoundException($"--slides {slides}: no such directory.");
        }
        var slide = SlideDiscovery.FindByName(slides, name)
            ?? throw new FileNotFoundException($"--tiles {coords}: no slide named {name} (with a slide extension: {string.Join(", ", SlideOpener.SlideExtensions)}) in --slides {slides}.");
        return new SlideTiles(coords, slide);
    }
}
