using Ips.Configuration;
using Ips.Data.Camelyon16;
using Ips.Data.MegapixelMnist;
using Ips.Data.OwnImages;
using Ips.Data.Traffic;

namespace Ips.Data;

/// <summary>
/// Opens the data set a config's <c>data_dir</c> holds, recognised by its files, so official configs need no
/// extra key to name their data set.
/// </summary>
public static class DatasetCatalog
{
    /// <summary>
    /// The training (<paramref name="train"/> true) or test split of the config's data set. Your own images are
    /// checked as they open: with <paramref name="skipBad"/> the images with problems are left out (the data set is an
    /// <see cref="ICheckedDataset"/> that lists them), without it they are refused with a <see cref="DataProblemsException"/>.
    /// </summary>
    /// <exception cref="ArgumentException">data_dir is missing or holds no data set this version can read.</exception>
    public static IIpsDataset Open(IpsConfig config, bool train, bool skipBad = false)
    {
        var name = Path.GetFileName(config.Source);
        var directory = config.DataDir;
        if (!Directory.Exists(directory))
        {
            throw new ArgumentException($"config {name}: data_dir '{directory}' does not exist (relative paths are taken from the current directory).");
        }
        return Recognise(config) switch
        {
            DatasetKind.Camelyon16 => Camelyon16Dataset.Open(config, train),
            DatasetKind.MegapixelMnist => new MegapixelMnistDataset(directory, train, config),
            DatasetKind.TrafficSigns => new TrafficSignsDataset(directory, train, config),
            DatasetKind.OwnImages => new OwnImagesDataset(config, train, skipBad),
            _ => throw new ArgumentException(
                $"config {name}: data_dir '{directory}' holds no data set this version can read. " +
                "Expected a Megapixel MNIST set (parameters.json, train.bin, test.bin), made with `ips data megapixel-mnist`, " +
                "or the Swedish traffic signs (Set1 and Set2 with annotations.txt), fetched with `ips data traffic`, " +
                "or your own images in class folders (train/<class>/*, test/<class>/*) or listed in labels.csv (path,label,split; docs/own-data.md), " +
                "or, with is_image: False, HDF5 slide features named by train_fname/test_fname or labels_csv."),
        };
    }

    /// <summary>Which data set <see cref="Open"/> opens for <paramref name="config"/>, by its keys and the files in its <c>data_dir</c>; null: none.</summary>
    internal static DatasetKind? Recognise(IpsConfig config)
    {
        if (Camelyon16Dataset.Recognises(config))
        {
            return DatasetKind.Camelyon16;
        }
        if (File.Exists(Path.Combine(config.DataDir, MegapixelMnistParameters.FileName)))
        {
            return DatasetKind.MegapixelMnist;
        }
        if (TrafficSigns.Holds(config.DataDir))
        {
            return DatasetKind.TrafficSigns;
        }
        return config.IsImage && OwnImageListing.Holds(config.DataDir) ? DatasetKind.OwnImages : null;
    }
}

/// <summary>The data sets <see cref="DatasetCatalog"/> recognises.</summary>
internal enum DatasetKind
{
    /// <summary>CAMELYON16 slide features (HDF5).</summary>
    Camelyon16,

    /// <summary>Megapixel MNIST canvases.</summary>
    MegapixelMnist,

    /// <summary>The Swedish traffic signs.</summary>
    TrafficSigns,

    /// <summary>Your own images: class folders or a labels.csv.</summary>
    OwnImages,
}
