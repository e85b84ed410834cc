using Ips.IO;
using Ips.Patches;
using PureHDF;
using PureHDF.Filters;
using PureHDF.Selections;
using PureHDF.VOL.Native;
using static TorchSharp.torch;

namespace Ips.Features;

/// <summary>One slide of an official IPS split file: where its features come from and its label.</summary>
/// <param name="Slide">Group name (the slide id, e.g. <c>tumor_001</c>).</param>
/// <param name="Label">Slide label (1 tumour, 0 normal), stored as the int64 attribute <c>label</c>.</param>
/// <param name="Features">The slide's features (any source of <c>[N, D]</c> float32 rows).</param>
/// <param name="Coords">The tiles' level-0 (x, y), <c>[N, 2]</c>, or null when unknown.</param>
public sealed record PackedSlide(string Slide, long Label, IPatchSource Features, long[,]? Coords);

/// <summary>
/// Writes feature files in the two layouts <see cref="Hdf5FeatureSource"/> reads, atomically (a temporary file renamed
/// over the target, as PureHDF can only create files whole) and streamed: rows are written slice by slice, so a slide
/// of a quarter of a million tiles never sits in memory at once.
/// </summary>
public static class Hdf5FeatureWriter
{
    /// <summary>Rows handed to the HDF5 writer at once when copying from a source.</summary>
    private const int CopyRows = 4096;

    /// <summary>
    /// Writes a CLAM/TRIDENT per-slide file: <c>features</c> <c>[N, D]</c> float32 and <c>coords</c> <c>[N, 2]</c> int64,
    /// with <paramref name="coordsAttributes"/> on <c>coords</c> (CLAM's <c>patch_size</c>, <c>patch_level</c>) and
    /// <paramref name="fileAttributes"/> on the file (the <see cref="FeatureProvenance"/>). <paramref name="fill"/> receives a callback that writes rows <c>[start, start + k)</c> from a <c>[k, D]</c> tensor;
    /// it must cover every row.
    /// </summary>
    public static void WriteSlideFile(
        string path, long[,] coords, int width, bool gzip, IReadOnlyDictionary<string, object>? coordsAttributes,
        IReadOnlyDictionary<string, object>? fileAttributes, Action<Action<long, Tensor>> fill)
    {
        ArgumentNullException.ThrowIfNull(coords);
        ArgumentNullException.ThrowIfNull(fill);
        var rows = coords.GetLength(0);
        if (rows == 0)
        {
            throw new ArgumentException($"{path}: a slide with no tiles has no features to write");
        }
        var features = FeatureDataset(rows, width, gzip);
        var coordsDataset = new H5Dataset(coords);
        foreach (var (key, value) in coordsAttributes ?? new Dictionary<string, object>())
        {
            coordsDataset.Attributes[key] = value;
        }
        var file = new H5File { [Hdf5FeatureSource.FeaturesName] = features, [Hdf5FeatureSource.CoordsName] = coordsDataset };
        foreach (var (key, value) in fileAttributes ?? new Dictionary<string, object>())
        {
            file.Attributes[key] = value;
        }
        AtomicFile.Write(path, temporary =>
        {
            using var writer = file.BeginWrite(temporary);
            fill((start, block) => WriteRows(writer, features, start, block, width));
        });
    }

    /// <summary>Writes a per-slide file from an in-memory matrix <paramref name="features"/> <c>[N, D]</c>.</summary>
    public static void WriteSlideFile(
        string path, Tensor features, long[,] coords, bool gzip, IReadOnlyDictionary<string, object>? coordsAttributes = null,
        IReadOnlyDictionary<string, object>? fileAttributes = null)
    {
        ArgumentNullException.ThrowIfNull(features);
        if (features.dim() != 2 || features.shape[0] != coords.GetLength(0))
        {
            throw new ArgumentException(
                $"{path}: features of shape [{string.Join(", ", features.shape)}] do not match {coords.GetLength(0)} coordinates");
        }
        WriteSlideFile(path, coords, (int)features.shape[1], gzip, coordsAttributes, fileAttributes, write => write(0, features));
    }

    /// <summary>
    /// Writes an official IPS split file: per slide a group with <c>img</c> <c>[N, D]</c> float32, <c>pos</c> <c>[N]</c>
    /// int64 (the tile's index in the slide's tiling, as the official extraction's <c>pos_id</c>), <c>coords</c>
    /// <c>[N, 2]</c> when known (an addition the official reader ignores) and the int64 attribute <c>label</c>.
    /// Rows are copied from each slide's source in slices. <paramref name="fileAttributes"/> go on the file (the encoder,
    /// <see cref="FeatureProvenance.EncoderAttributes"/>). <paramref name="progress"/> receives the slides done.
    /// </summary>
    public static void WriteSplitFile(
        string path, IReadOnlyList<PackedSlide> slides, bool gzip, IProgress<int>? progress = null, CancellationToken cancel = default,
        IReadOnlyDictionary<string, object>? fileAttributes = null)
    {
        ArgumentNullException.ThrowIfNull(slides);
        if (slides.Count == 0)
        {
            throw new ArgumentException($"{path}: no slides to pack");
        }
        var width = slides[0].Features.PatchShape[0];
        var file = new H5File();
        foreach (var (key, value) in fileAttributes ?? new Dictionary<string, object>())
        {
            file.Attributes[key] = value;
        }
        var datasets = new List<H5Dataset<float[]>>();
        foreach (var slide in slides)
        {
            var rows = slide.Features.Count;
            if (slide.Features.PatchShape is not [var w] || w != width)
            {
                throw new ArgumentException(
                    $"{path}: slide {slide.Slide} has features of width [{string.Join(", ", slide.Features.PatchShape)}], the first slide {width}; one split file holds one feature width");
            }
            if (rows == 0)
            {
                throw new ArgumentException($"{path}: slide {slide.Slide} has no tiles");
            }
            if (file.ContainsKey(slide.Slide))
            {
                throw new ArgumentException($"{path}: slide {slide.Slide} is listed twice");
            }
            var img = FeatureDataset(rows, (int)width, gzip);
            datasets.Add(img);
            var group = new H5Group
            {
                [Hdf5FeatureSource.ImgName] = img,
                [Hdf5FeatureSource.PosName] = Enumerable.Range(0, rows).Select(i => (long)i).ToArray(),
                Attributes = new() { [Hdf5FeatureSource.LabelName] = slide.Label },
            };
            if (slide.Coords is { } coords)
            {
                group[Hdf5FeatureSource.CoordsName] = coords;
            }
            file[slide.Slide] = group;
        }
        AtomicFile.Write(path, temporary =>
        {
            using var writer = file.BeginWrite(temporary);
            for (var s = 0; s < slides.Count; s++)
            {
                var source = slides[s].Features;
                for (var start = 0; start < source.Count; start += CopyRows)
                {
                    cancel.ThrowIfCancellationRequested();
                    using var block = source.Read(start, Math.Min(CopyRows, source.Count - start));
                    WriteRows(writer, datasets[s], start, block, (int)width);
                }
                progress?.Report(s + 1);
            }
        });
    }

    /// <summary>
    /// An <c>[N, D]</c> float32 dataset in chunks of about a mebibyte of whole rows (the unit a hyperslab read
    /// decodes), deflate-compressed when <paramref name="gzip"/> (as the official extraction writes, and h5py's
    /// <c>compression="gzip"</c> reads).
    /// </summary>
    private static H5Dataset<float[]> FeatureDataset(int rows, int width, bool gzip)
    {
        var chunkRows = (uint)Math.Clamp((1 << 20) / (width * sizeof(float)), 1, rows);
        var creation = gzip ? new H5DatasetCreation(Filters: [DeflateFilter.Id]) : default;
        return new H5Dataset<float[]>(fileDims: [(ulong)rows, (ulong)width], chunks: [chunkRows, (uint)width], datasetCreation: creation);
    }

    private static void WriteRows(H5NativeWriter writer, H5Dataset<float[]> dataset, long start, Tensor block, int width)
    {
        if (block.dim() != 2 || block.shape[1] != width)
        {
            throw new ArgumentException($"feature rows of shape [{string.Join(", ", block.shape)}] do not have width {width}");
        }
        using var cpu = block.to(ScalarType.Float32).cpu().contiguous();
        var values = cpu.data<float>().ToArray();
        var selection = new HyperslabSelection(2, [(ulong)start, 0], [(ulong)block.shape[0], (ulong)width]);
        writer.Write(dataset, values, fileSelection: selection);
    }
}
