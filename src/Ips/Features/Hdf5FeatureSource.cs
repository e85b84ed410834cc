using System.Globalization;
using Ips.IO;
using Ips.Patches;
using PureHDF;
using PureHDF.Selections;
using PureHDF.VOL.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace Ips.Features;

/// <summary>
/// Pre-extracted features <c>[N, D]</c> float32 in an HDF5 dataset, read row slice by row slice with hyperslab
/// selections, so memory does not depend on <c>N</c>. Two layouts are read (docs/design.md section 6):
/// <list type="bullet">
/// <item>the per-slide file of CLAM and TRIDENT: datasets <c>features</c> <c>[N, D]</c> and <c>coords</c> <c>[N, 2]</c>
/// (level-0 pixel x, y of each tile's top-left corner), see <see cref="OpenSlideFile"/>;</item>
/// <item>the official IPS split file: one group per slide with <c>img</c> <c>[N, D]</c>, <c>pos</c> and the attribute
/// <c>label</c>, see <see cref="OpenGroup"/>.</item>
/// </list>
/// </summary>
public sealed class Hdf5FeatureSource : IPatchSource
{
    /// <summary>Name of the feature matrix in a CLAM/TRIDENT per-slide file.</summary>
    public const string FeaturesName = "features";

    /// <summary>Name of the tile coordinates in a CLAM/TRIDENT per-slide file (and, as an addition, in our packed groups).</summary>
    public const string CoordsName = "coords";

    /// <summary>Name of the feature matrix inside a slide's group of the official layout.</summary>
    public const string ImgName = "img";

    /// <summary>Name of the tile positions inside a slide's group of the official layout.</summary>
    public const string PosName = "pos";

    /// <summary>Name of the slide label attribute of a group of the official layout.</summary>
    public const string LabelName = "label";

    /// <summary>
    /// The widest feature vector read: 65536 values, far above today's encoders (ResNet-50 2048, Virchow2 2560), so a
    /// damaged shape cannot make one row's buffer larger than 256 KiB.
    /// </summary>
    public const int MaxFeatureWidth = 1 << 16;

    private readonly NativeFile _file;
    private readonly IH5Dataset _features;
    private readonly IH5Group _parent;
    private readonly Lock _gate = new();

    private Hdf5FeatureSource(string path, NativeFile file, IH5Group parent, string datasetName)
    {
        Path = path;
        _file = file;
        _parent = parent;
        DatasetPath = parent is NativeFile ? datasetName : $"{parent.Name}/{datasetName}";
        _features = Hdf5.Guard(path, $"dataset '{DatasetPath}'", () =>
        {
            if (!parent.LinkExists(datasetName))
            {
                throw new InvalidDataException(
                    $"{path}: no dataset '{DatasetPath}'; expected a [N, D] float32 feature matrix there " +
                    $"(CLAM/TRIDENT files hold '{FeaturesName}', official IPS files '<slide>/{ImgName}')");
            }
            return parent.Dataset(datasetName);
        });
        var (dims, type) = Hdf5.Guard(path, $"the shape of '{DatasetPath}'", () => (_features.Space.Dimensions, _features.Type));
        if (dims.Length != 2)
        {
            throw new InvalidDataException(
                $"{path}: dataset '{DatasetPath}' has shape [{string.Join(", ", dims)}]; features must be a 2-D matrix [N, D]");
        }
        if (type.Class != H5DataTypeClass.FloatingPoint || type.Size != sizeof(float))
        {
            throw new InvalidDataException(
                $"{path}: dataset '{DatasetPath}' holds {type.Class} values of {type.Size} bytes; features must be float32");
        }
        if (dims[0] > int.MaxValue)
        {
            throw new InvalidDataException($"{path}: {dims[0]} rows are more than the {int.MaxValue} patches supported");
        }
        if (dims[1] is 0 or > MaxFeatureWidth)
        {
            throw new InvalidDataException(
                $"{path}: dataset '{DatasetPath}' has rows of {dims[1]} features; a feature vector has 1 to {MaxFeatureWidth} values");
        }
        Hdf5.CheckStorage(path, _features, DatasetPath);
        Count = (int)dims[0];
        PatchShape = [(long)dims[1]];
    }

    /// <summary>The HDF5 file the features are read from.</summary>
    public string Path { get; }

    /// <summary>Path of the feature dataset inside the file (<c>features</c> or <c>&lt;slide&gt;/img</c>).</summary>
    public string DatasetPath { get; }

    /// <inheritdoc />
    public int Count { get; }

    /// <inheritdoc />
    public long[] PatchShape { get; }

    /// <summary>Always the CPU: rows are decoded into host memory; the caller moves them.</summary>
    public Device Device => CPU;

    /// <summary>Opens a CLAM/TRIDENT per-slide file: its <c>features</c> dataset.</summary>
    /// <exception cref="InvalidDataException">The file is not HDF5, is truncated, or has no float32 <c>features</c> matrix.</exception>
    public static Hdf5FeatureSource OpenSlideFile(string path)
    {
        var file = Hdf5.OpenRead(path);
        try
        {
            return new Hdf5FeatureSource(path, file, file, FeaturesName);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>Opens slide <paramref name="slide"/> of an official IPS split file: the dataset <c>&lt;slide&gt;/img</c>.</summary>
    /// <exception cref="InvalidDataException">The file is damaged or has no such group or dataset.</exception>
    public static Hdf5FeatureSource OpenGroup(string path, string slide)
    {
        var file = Hdf5.OpenRead(path);
        try
        {
            var group = Hdf5.Guard(path, $"group '{slide}'", () =>
            {
                if (!file.LinkExists(slide))
                {
                    throw new InvalidDataException($"{path}: no group '{slide}' (one group per slide holding '{ImgName}' is expected)");
                }
                return file.Group(slide);
            });
            return new Hdf5FeatureSource(path, file, group, ImgName);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public Tensor Read(int start, int count)
    {
        if (start < 0 || count < 0 || start > Count - count)
        {
            throw new ArgumentOutOfRangeException(nameof(start), $"{Path}: rows {start} .. {start + count - 1} are outside 0 .. {Count - 1}");
        }
        var width = PatchShape[0];
        var buffer = new float[count * width];
        ReadRows(start, count, buffer, 0);
        return torch.tensor(buffer, [count, width]); // [count, D]
    }

    /// <inheritdoc />
    public Tensor Gather(ReadOnlySpan<long> indices)
    {
        foreach (var index in indices)
        {
            if (index < 0 || index >= Count)
            {
                throw new ArgumentOutOfRangeException(nameof(indices), $"{Path}: row {index} is outside 0 .. {Count - 1}");
            }
        }
        var width = (int)PatchShape[0];
        var buffer = new float[indices.Length * width];
        var i = 0;
        while (i < indices.Length)
        {
            // One hyperslab per run of consecutive rows: selected tiles often neighbour each other.
            var run = 1;
            while (i + run < indices.Length && indices[i + run] == indices[i] + run)
            {
                run++;
            }
            ReadRows(indices[i], run, buffer, i * width);
            i += run;
        }
        return torch.tensor(buffer, [indices.Length, width]); // [k, D]
    }

    /// <summary>
    /// The tile coordinates stored beside the features (<c>coords</c> <c>[N, 2]</c> of CLAM/TRIDENT files and of
    /// groups written by <see cref="Hdf5FeatureWriter"/>), or null when the file has none.
    /// </summary>
    public long[,]? ReadCoords()
    {
        lock (_gate)
        {
            return Hdf5.Guard(Path, $"dataset '{CoordsName}'", () =>
            {
                if (!_parent.LinkExists(CoordsName))
                {
                    return null;
                }
                var coords = _parent.Dataset(CoordsName);
                var dims = coords.Space.Dimensions;
                if (dims.Length != 2 || dims[1] != 2 || (long)dims[0] != Count)
                {
                    throw new InvalidDataException(
                        $"{Path}: dataset '{CoordsName}' has shape [{string.Join(", ", dims)}]; expected [{Count}, 2] (x, y per tile)");
                }
                return ReadIntegers(coords, Path, CoordsName);
            });
        }
    }

    /// <inheritdoc />
    public void Dispose() => _file.Dispose();

    private void ReadRows(long firstRow, int rows, float[] destination, int offset)
    {
        var width = (ulong)PatchShape[0];
        var selection = new HyperslabSelection(2, [(ulong)firstRow, 0], [(ulong)rows, width]);
        lock (_gate)
        {
            Hdf5.Guard(Path, $"rows {firstRow} .. {firstRow + rows - 1} of '{DatasetPath}'", () =>
            {
                _features.Read(destination.AsMemory(offset, rows * (int)width), fileSelection: selection);
                return true;
            });
        }
        CheckFinite(destination.AsSpan(offset, rows * (int)width), firstRow, (int)width);
    }

    // Every row is read on its way to pack, train, evaluate or predict, so that is where a NaN or infinity is caught.
    private void CheckFinite(ReadOnlySpan<float> values, long firstRow, int width)
    {
        if (FiniteValues.FirstNonFinite(values) is var i and >= 0)
        {
            throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                $"{Path}: row {firstRow + i / width} of '{DatasetPath}' holds {values[i]} (column {i % width}); features must be finite numbers, so extract this slide's features again"));
        }
    }

    /// <summary>An integer matrix of 4- or 8-byte values as int64 (CLAM writes int64, other tools int32).</summary>
    internal static long[,] ReadIntegers(IH5Dataset dataset, string path, string name)
    {
        var dims = dataset.Space.Dimensions;
        if (dataset.Type.Class != H5DataTypeClass.FixedPoint || dataset.Type.Size is not (4 or 8))
        {
            throw new InvalidDataException($"{path}: dataset '{name}' holds {dataset.Type.Class} values of {dataset.Type.Size} bytes; expected 32- or 64-bit integers");
        }
        var values = dims.Aggregate(UInt128.One, (product, dim) => product * dim);
        if (dims.Length is 0 or > 2 || values > Hdf5.MaxWholeValues)
        {
            throw new InvalidDataException(
                $"{path}: dataset '{name}' has shape [{string.Join(", ", dims)}]; expected a matrix of at most {Hdf5.MaxWholeValues} values");
        }
        Hdf5.CheckStorage(path, dataset, name);
        long[] flat = dataset.Type.Size == 8
            ? dataset.Read<long[]>()
            : Array.ConvertAll(dataset.Read<int[]>(), value => (long)value);
        var rows = (int)dims[0];
        var cols = dims.Length > 1 ? (int)dims[1] : 1;
        var result = new long[rows, cols];
        Buffer.BlockCopy(flat, 0, result, 0, flat.Length * sizeof(long));
        return result;
    }
}
