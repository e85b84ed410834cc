using System.Globalization;
using Ips.IO;
using PureHDF;

namespace Ips.Slides.Tiling;

/// <summary>What a tile coordinates file says about how its tiles were cut.</summary>
/// <param name="PatchLevel">The level the tiles were cut from (<c>patch_level</c>).</param>
/// <param name="PatchSize">Tile side in pixels of that level (<c>patch_size</c>).</param>
/// <param name="Overlap">Overlap in pixels of that level.</param>
/// <param name="FgPercThresh">The tissue fraction a tile needed to be kept.</param>
/// <param name="OtsuLevel">The level the Otsu threshold came from.</param>
/// <param name="OtsuThreshold">The Otsu threshold of the stain-aware grey level.</param>
public sealed record TileCoordsInfo(int PatchLevel, int PatchSize, int Overlap, double FgPercThresh, int OtsuLevel, double OtsuThreshold)
{
    /// <summary>The microns per pixel the tiles were cut at (<c>target_mpp</c>), when cut at a resolution.</summary>
    public double? TargetMpp { get; init; }

    /// <summary>The magnification the tiles were cut at (<c>target_magnification</c>, TRIDENT's), when cut at a resolution.</summary>
    public double? TargetMagnification { get; init; }

    /// <summary>Microns per pixel of the slide's level 0 (<c>level0_mpp</c>), when tiles were cut at a resolution.</summary>
    public double? Level0Mpp { get; init; }

    /// <summary>Magnification of the slide's level 0 (<c>level0_magnification</c>, TRIDENT's), when tiles were cut at a resolution.</summary>
    public double? Level0Magnification { get; init; }

    /// <summary>
    /// How a tile of these coordinates is read from <paramref name="slide"/>: at the resolution recorded
    /// (<c>target_mpp</c> over <c>level0_mpp</c>, else <c>level0_magnification</c> over <c>target_magnification</c>,
    /// as TRIDENT's files give it), else <see cref="PatchSize"/> pixels of <see cref="PatchLevel"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The slide lacks the level or a level fine enough for the resolution.</exception>
    public TileSampling Sampling(ISlide slide)
    {
        ArgumentNullException.ThrowIfNull(slide);
        double? downsample = TargetMpp is { } mpp && Level0Mpp is { } mpp0 ? mpp / mpp0
            : TargetMagnification is { } magnification && Level0Magnification is { } magnification0 ? magnification0 / magnification
            : null;
        if (downsample is { } d)
        {
            try
            {
                return TileSampling.ForDownsample(slide.Levels, d, PatchSize);
            }
            catch (ArgumentException error)
            {
                throw new ArgumentException($"{slide.Path}: tiles at {Resolution()}: {error.Message}", error);
            }
        }
        LevelGeometry.Check(slide, PatchLevel);
        return TileSampling.AtLevel(PatchLevel, PatchSize);
    }

    /// <summary>Whether the tiles were cut with the parameters of <paramref name="options"/>.</summary>
    public bool Matches(TilingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        bool sameResolution = options.AtResolution
            ? Nullable.Equals(TargetMpp, options.TargetMpp) && Nullable.Equals(TargetMagnification, options.TargetMagnification)
                && (options.Level0Mpp is null || Nullable.Equals(Level0Mpp, options.Level0Mpp))
            : TargetMpp is null && TargetMagnification is null && PatchLevel == options.Level;
        return sameResolution && PatchSize == options.TileSize && Overlap == options.Overlap
            && FgPercThresh.Equals(options.FgPercThresh) && OtsuLevel == options.EffectiveOtsuLevel;
    }

    /// <summary>The parameters of <paramref name="options"/> as a record of this kind (for messages; the Otsu threshold is unknown).</summary>
    public static TileCoordsInfo Of(TilingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new TileCoordsInfo(options.Level, options.TileSize, options.Overlap, options.FgPercThresh, options.EffectiveOtsuLevel, double.NaN)
        {
            TargetMpp = options.TargetMpp,
            TargetMagnification = options.TargetMagnification,
            Level0Mpp = options.Level0Mpp,
        };
    }

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{(TargetMpp is null && TargetMagnification is null ? $"level {PatchLevel}" : Resolution())}, tile size {PatchSize}, overlap {Overlap}, fg_perc_thresh {FgPercThresh}, otsu level {OtsuLevel}");

    private string Resolution() => string.Create(CultureInfo.InvariantCulture,
        $"{(TargetMpp is { } mpp ? $"{mpp} um/px" : $"magnification {TargetMagnification}")}{(Level0Mpp is { } mpp0 ? $" (level 0: {mpp0} um/px)" : "")}");
}

/// <summary>The kept tiles of one slide as read back from a tile coordinates file.</summary>
/// <param name="Info">How the tiles were cut.</param>
/// <param name="Coords">Level-0 top-left corners, <c>[n, 2]</c> as (x, y).</param>
/// <param name="TumourFraction">Fraction of each tile inside annotated tumour.</param>
/// <param name="TissueFraction">Fraction of each tile's pixels that are tissue.</param>
public sealed record TileCoords(TileCoordsInfo Info, int[,] Coords, float[] TumourFraction, float[] TissueFraction)
{
    /// <summary>Number of tiles.</summary>
    public int Count => Coords.GetLength(0);
}

/// <summary>
/// A slide's tile coordinates in HDF5, in the layout CLAM and TRIDENT write and read: dataset <c>coords</c>
/// <c>[n, 2]</c> int32 of level-0 (x, y) top-left corners with attributes <c>patch_level</c> and <c>patch_size</c>
/// (plus <c>patch_size_level0</c>, <c>overlap</c>, <c>level_dim</c>, <c>downsample</c>, <c>name</c>), beside
/// datasets <c>tumor_fraction</c> and <c>tissue_fraction</c> <c>[n]</c> float32 and the Otsu threshold as attribute
/// <c>otsu_threshold</c> of <c>coords</c> and of the file. Tiles cut at a resolution also record <c>target_mpp</c> or
/// <c>target_magnification</c>, <c>level0_mpp</c> and <c>level0_magnification</c> (TRIDENT's names where it has them);
/// <c>patch_level</c> is then the level read and <c>patch_size</c> the tile side at the resolution. Written whole to a temporary file and renamed, since
/// PureHDF only creates files.
/// </summary>
public static class TileCoordsFile
{
    /// <summary>Writes the tiles of <paramref name="tiles"/> for the slide named <paramref name="name"/> to <paramref name="path"/> atomically.</summary>
    public static void Write(string path, string name, TileSet tiles, TilingOptions options, ISlide slide)
    {
        ArgumentNullException.ThrowIfNull(tiles);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(slide);
        var coords = new int[tiles.Count, 2];
        for (int i = 0; i < tiles.Count; i++)
        {
            (coords[i, 0], coords[i, 1]) = (tiles.X[i], tiles.Y[i]);
        }
        var level = slide.Levels[tiles.Grid.Level];
        var file = new H5File
        {
            ["coords"] = new H5Dataset(coords, fileDims: [(ulong)tiles.Count, 2])
            {
                Attributes = new()
                {
                    ["patch_level"] = tiles.Grid.Level,
                    ["patch_size"] = tiles.Grid.TileSize,
                    ["patch_size_level0"] = tiles.Grid.TileSize0,
                    ["overlap"] = options.Overlap,
                    ["level_dim"] = new[] { level.Width, level.Height },
                    ["downsample"] = new[] { level.Downsample, level.Downsample },
                    ["name"] = name,
                    ["otsu_threshold"] = tiles.Threshold,
                    ["otsu_level"] = options.EffectiveOtsuLevel,
                    ["fg_perc_thresh"] = options.FgPercThresh,
                },
            },
            ["tumor_fraction"] = new H5Dataset(tiles.TumourFraction, fileDims: [(ulong)tiles.Count]),
            ["tissue_fraction"] = new H5Dataset(tiles.TissueFraction, fileDims: [(ulong)tiles.Count]),
        };
        var attributes = ((H5Dataset)file["coords"]).Attributes;
        AddIfKnown(attributes, "target_mpp", options.TargetMpp);
        AddIfKnown(attributes, "target_magnification", options.TargetMagnification);
        AddIfKnown(attributes, "level0_mpp", tiles.Grid.Level0Mpp);
        AddIfKnown(attributes, "level0_magnification", tiles.Grid.Level0Magnification);
        file.Attributes["otsu_threshold"] = tiles.Threshold;
        file.Attributes["slide"] = Path.GetFileName(slide.Path);
        AtomicFile.Write(path, temporary => file.Write(temporary));
    }

    /// <summary>Reads a tile coordinates file written by <see cref="Write"/>, or by CLAM/TRIDENT (missing extras read as defaults).</summary>
    public static TileCoords Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{path}: tile coordinates file not found", path);
        }
        try
        {
            using var file = Hdf5.OpenRead(path);
            if (!file.LinkExists("coords"))
            {
                throw new InvalidDataException($"{path}: no 'coords' dataset; expected a tile coordinates file ([n, 2] level-0 x, y)");
            }
            var dataset = file.Dataset("coords");
            var dims = dataset.Space.Dimensions;
            if (dims.Length != 2 || dims[1] != 2 || dims[0] > Hdf5.MaxWholeValues / 2)
            {
                throw new InvalidDataException(
                    $"{path}: 'coords' has shape [{string.Join(", ", dims)}]; expected [n, 2] with n at most {Hdf5.MaxWholeValues / 2}");
            }
            Hdf5.CheckStorage(path, dataset, "coords");
            int n = checked((int)dims[0]);
            var coords = n == 0 ? new int[0, 2] : ReadCoords(dataset, n);
            var info = new TileCoordsInfo(
                IntAttribute(dataset, "patch_level") ?? 0,
                IntAttribute(dataset, "patch_size") ?? throw new InvalidDataException($"{path}: 'coords' has no patch_size attribute"),
                IntAttribute(dataset, "overlap") ?? 0,
                DoubleAttribute(dataset, "fg_perc_thresh") ?? double.NaN,
                IntAttribute(dataset, "otsu_level") ?? IntAttribute(dataset, "patch_level") ?? 0,
                DoubleAttribute(dataset, "otsu_threshold") ?? double.NaN)
            {
                TargetMpp = DoubleAttribute(dataset, "target_mpp"),
                TargetMagnification = DoubleAttribute(dataset, "target_magnification"),
                Level0Mpp = DoubleAttribute(dataset, "level0_mpp"),
                Level0Magnification = DoubleAttribute(dataset, "level0_magnification"),
            };
            return new TileCoords(info, coords, Floats(file, "tumor_fraction", n, path), Floats(file, "tissue_fraction", n, path));
        }
        catch (Exception error) when (error is not InvalidDataException and not FileNotFoundException)
        {
            // Out of memory included: PureHDF allocates the size a damaged structure claims before reading it
            // (docs/reliability.md), and under a memory limit that fails here.
            throw new InvalidDataException($"{path}: not a readable HDF5 tile coordinates file ({error.Message})", error);
        }
    }

    private static int[,] ReadCoords(IH5Dataset dataset, int n)
    {
        // CLAM writes int64 coordinates, TRIDENT and this class int32; read either.
        if (dataset.Type.Size == 8)
        {
            var wide = dataset.Read<long[,]>();
            var coords = new int[n, 2];
            for (int i = 0; i < n; i++)
            {
                (coords[i, 0], coords[i, 1]) = (checked((int)wide[i, 0]), checked((int)wide[i, 1]));
            }
            return coords;
        }
        return dataset.Read<int[,]>();
    }

    private static float[] Floats(IH5Group file, string name, int n, string path)
    {
        if (!file.LinkExists(name))
        {
            return new float[n];
        }
        var dataset = file.Dataset(name);
        var dims = dataset.Space.Dimensions;
        // The shape is checked before the read: the read allocates whatever the shape claims.
        if (dims.Length != 1 || dims[0] != (ulong)n)
        {
            throw new InvalidDataException($"{path}: '{name}' has shape [{string.Join(", ", dims)}] but 'coords' has {n} entries");
        }
        Hdf5.CheckStorage(path, dataset, name);
        return n == 0 ? [] : dataset.Read<float[]>();
    }

    private static int? IntAttribute(IH5Dataset dataset, string name)
    {
        if (!dataset.AttributeExists(name))
        {
            return null;
        }
        var attribute = dataset.Attribute(name);
        return attribute.Type.Size == 8 ? checked((int)attribute.Read<long>()) : attribute.Read<int>();
    }

    // TRIDENT writes its magnifications as integers, this class as doubles; read either.
    private static double? DoubleAttribute(IH5Dataset dataset, string name)
    {
        if (!dataset.AttributeExists(name))
        {
            return null;
        }
        var attribute = dataset.Attribute(name);
        return attribute.Type.Class == H5DataTypeClass.FloatingPoint ? attribute.Read<double>()
            : attribute.Type.Size == 8 ? attribute.Read<long>() : attribute.Read<int>();
    }

    private static void AddIfKnown(IDictionary<string, object> attributes, string name, double? value)
    {
        if (value is { } known)
        {
            attributes[name] = known;
        }
    }
}
