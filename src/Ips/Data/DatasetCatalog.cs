using Ips.Configuration;
using Ips.Data.Camelyon16;
using Ips.Data.MegapixelMnist;
using Ips.Data.Traffic;

namespace Ips.Data;

/// <summary>
/// Opens the data set a config's <c>data_dir</c> holds, recognised by its files, so official configs need no
/// extra key to name their data set.
/// </summary>
public static class DatasetCatalog
{
    /// <summary>The training (<paramref name="train"/> true) or test split of the config's data set.</summary>
    /// <exception cref="ArgumentException">data_dir is missing or holds no data set this version can read.</exception>
    public static IIpsDataset Open(IpsConfig config, bool train)
    {
        var name = Path.GetFileName(config.Source);
        var directory = config.DataDir;
        if (!Directory.Exists(directory))
        {
            throw new ArgumentException($"config {name}: data_dir '{directory}' does not exist (relative paths are taken from the current directory).");
        }
        if (Camelyon16Dataset.Recognises(config))
        {
            return Camelyon16Dataset.Open(config, train);
        }
        if (File.Exists(Path.Combine(directory, MegapixelMnistParameters.FileName)))
        {
            return new MegapixelMnistDataset(directory, train, config);
        }
        if (TrafficSigns.Holds(directory))
        {
            return new TrafficSignsDataset(directory, train, config);
        }
        throw new ArgumentException(
            $"config {name}: data_dir '{directory}' holds no data set this version can read. " +
            "Expected a Megapixel MNIST set (parameters.json, train.bin, test.bin), made with `ips data megapixel-mnist`, " +
            "or the Swedish traffic signs (Set1 and Set2 with annotations.txt), fetched with `ips data traffic`, " +
            "or, with is_image: False, HDF5 slide features named by train_fname/test_fname or labels_csv.");
    }
}
