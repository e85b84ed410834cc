using Ips.Configuration;
using Ips.IO;
using Ips.Modeling;
using Ips.Training;

namespace Ips.Inference;

/// <summary>
/// A trained network from the weights file a user names: a PyTorch state_dict (<c>.pt</c>/<c>.pth</c>/<c>.bin</c>),
/// a <c>.safetensors</c> file, or a training checkpoint (<c>.ckpt</c>), whose model is read from the archive itself.
/// </summary>
public static class ModelWeights
{
    /// <summary>The network of <paramref name="config"/> with the weights in <paramref name="weights"/>, on the CPU.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not readable weights, or they do not fit the config.</exception>
    public static IpsNet Load(IpsConfig config, string weights)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (!File.Exists(weights))
        {
            throw new FileNotFoundException($"--weights {weights}: file not found.", weights);
        }
        // The weights replace every parameter and buffer, so an ImageNet start (pretrained) would only be read to be
        // overwritten, and would need its file on this machine.
        var net = new IpsNet(config with { Pretrained = false });
        try
        {
            if (IsCheckpoint(weights))
            {
                Checkpoint.LoadModel(weights, net);
            }
            else
            {
                StateDictIO.Load(net, weights);
            }
            return net;
        }
        catch
        {
            net.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The config a training checkpoint stored with its weights (with what training recorded, such as
    /// <c>test_preprocessing</c>); null for a state_dict or safetensors file, which holds weights alone.
    /// </summary>
    public static IpsConfig? TrainedWith(string weights) =>
        IsCheckpoint(weights) ? ConfigLoader.Parse(Checkpoint.ReadConfigYaml(weights), weights) : null;

    /// <summary>
    /// <paramref name="config"/> with the class names a training checkpoint recorded for a task of the same name and
    /// size where the config lists none (a repository config with the run's <c>.ckpt</c>), so results name classes.
    /// </summary>
    public static IpsConfig WithClassNames(IpsConfig config, string weights)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.Tasks.All(t => t.Classes is not null) || !File.Exists(weights) || TrainedWith(weights) is not { } trained)
        {
            return config;
        }
        return config with
        {
            Tasks = [.. config.Tasks.Select(task => task.Classes is null && trained.Tasks.FirstOrDefault(t => t.Name == task.Name && t.NClass == task.NClass)?.Classes is { } names
                ? task with { Classes = names }
                : task)],
        };
    }

    // A .ckpt that is not a readable checkpoint goes the checkpoint's way too, to be reported as damaged.
    private static bool IsCheckpoint(string weights) =>
        Checkpoint.IsCheckpoint(weights) || Path.GetExtension(weights).Equals(".ckpt", StringComparison.OrdinalIgnoreCase);
}
