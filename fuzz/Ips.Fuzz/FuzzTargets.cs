using Ips.Configuration;
using Ips.Data.Camelyon16;
using Ips.Data.Mnist;
using Ips.Data.Traffic;
using Ips.Encoders;
using Ips.Features;
using Ips.Imaging;
using Ips.IO;
using Ips.Patches;
using Ips.Slides;
using Ips.Slides.Annotations;
using Ips.Slides.Tiling;
using Ips.Training;

namespace Ips.Fuzz;

/// <summary>
/// One fuzz target: a reader of ips, driven the way the commands drive it, on a file with the extension the reader
/// expects. <see cref="Read"/> throws whatever the reader throws; <see cref="ReaderProperty"/> judges it.
/// </summary>
/// <param name="Name">The name <c>fuzz/run</c> and the corpus folders use.</param>
/// <param name="FileName">The name the input is written under (readers choose their format by extension).</param>
/// <param name="Read">Opens the file and reads what a command would read from it.</param>
public sealed record FuzzTarget(string Name, string FileName, Action<string> Read)
{
    /// <summary>What an error message must contain to name the input: the file's name, or for a target that reads a
    /// folder (<see cref="FileName"/> under it), the folder's.</summary>
    public string Names => Path.GetDirectoryName(FileName) is { Length: > 0 } folder ? folder : FileName;
}

/// <summary>Every format ips parses, one target each (docs/reliability.md lists them with their results).</summary>
public static class FuzzTargets
{
    /// <summary>The targets in the order of docs/reliability.md.</summary>
    public static IReadOnlyList<FuzzTarget> All { get; } =
    [
        new("tiff-slide", "slide.tif", ReadSlide),
        new("features-h5", "features.h5", ReadFeaturesFile),
        new("split-h5", "split.h5", ReadSplitFile),
        new("coords-h5", "coords.h5", path => TileCoordsFile.Read(path)),
        new("safetensors", "features.safetensors", path => ReadRows(SafetensorsFeatureSource.Open(path))),
        new("npy", "features.npy", path => ReadRows(NpyFeatureSource.Open(path))),
        new("state-dict", "weights.pt", ReadStateDict),
        new("checkpoint", "last.ckpt", ReadCheckpoint),
        new("byol-ckpt", "byol.ckpt", ReadByolCheckpoint),
        new("onnx", "model.onnx", path => OnnxModel.Read(path)),
        new("hub-folder", Path.Combine("hub-model", "input.bin"), ReadHubFolder),
        new("yaml", "config.yml", path => ConfigLoader.Load(path)),
        new("asap-xml", "annotation.xml", path => AsapAnnotations.Read(path)),
        new("sts", "annotations.txt", path => StsAnnotations.Read(path)),
        new("labels-csv", "labels.csv", path => SlideLabels.Read(path)),
        new("mnist-idx", "train-images-idx3-ubyte", path => IdxReader.ReadImages(path)),
        new("png", "image.png", ReadImage),
        new("jpeg", "image.jpg", ReadImage),
        new("tiff-image", "image.tif", ReadImage),
    ];

    /// <summary>The target called <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">No target has that name.</exception>
    public static FuzzTarget Named(string name) =>
        All.FirstOrDefault(target => target.Name == name)
        ?? throw new ArgumentException($"unknown fuzz target '{name}'; targets are {string.Join(", ", All.Select(t => t.Name))}");

    // The region sizes are small and fixed so memory measures what the header makes the reader allocate, not the
    // request; the corners and the middle reach the edge tiles, partial tiles and the tile cache.
    private static void ReadSlide(string path)
    {
        using var slide = TiffSlide.Open(path);
        for (var level = 0; level < slide.Levels.Count; level++)
        {
            var size = slide.Levels[level];
            slide.ReadRegion(level, 0, 0, 64, 64);
            var downsample = slide.Levels[level].Downsample;
            slide.ReadRegion(level, (long)(size.Width / 2 * downsample), (long)(size.Height / 2 * downsample), 96, 96);
        }
    }

    private static void ReadFeaturesFile(string path)
    {
        using var source = Hdf5FeatureSource.OpenSlideFile(path);
        ReadRowsOf(source);
        source.ReadCoords();
    }

    private static void ReadSplitFile(string path)
    {
        foreach (var slide in Hdf5SplitFile.ReadSlides(path).Take(2))
        {
            using var source = Hdf5FeatureSource.OpenGroup(path, slide.Slide);
            ReadRowsOf(source);
            source.ReadCoords();
        }
    }

    private static void ReadRows(IPatchSource source)
    {
        using (source)
        {
            ReadRowsOf(source);
        }
    }

    // The first rows and the last, as selection reads chunks in order and gathers chosen rows by index.
    private static void ReadRowsOf(IPatchSource source)
    {
        using var first = source.Read(0, Math.Min(4, source.Count));
        if (source.Count > 0)
        {
            using var last = source.Gather([source.Count - 1]);
        }
    }

    private static void ReadStateDict(string path)
    {
        foreach (var tensor in StateDictIO.ReadStateDict(path).Values)
        {
            tensor.Dispose();
        }
    }

    // What `ips predict` and `ips train --resume` read before they build a model: the stored config, then the weights.
    private static void ReadCheckpoint(string path)
    {
        ConfigLoader.Parse(Checkpoint.ReadConfigYaml(path), path);
        var weights = path + ".model.pt";
        try
        {
            Checkpoint.ExtractModel(path, weights);
            ReadStateDict(weights);
        }
        finally
        {
            File.Delete(weights);
        }
    }

    private static void ReadByolCheckpoint(string path)
    {
        var (encoder, _) = ByolEncoderFile.Load(path);
        encoder.Dispose();
    }

    private static void ReadImage(string path) => ImageFile.Load(path, 3).Dispose();

    // What `ips extract --encoder FOLDER` reads before it builds the network: config.json, then the weights with their
    // names mapped to timm's (HubFolder.ReadWeights). The input is one file (HubFolderInput) split into the folder.
    private static void ReadHubFolder(string path)
    {
        var folder = Path.GetDirectoryName(path)!;
        HubFolderInput.Unpack(File.ReadAllBytes(path), folder);
        File.Delete(path);
        foreach (var tensor in HubFolder.Read(folder).ReadWeights().Values)
        {
            tensor.Dispose();
        }
    }
}
