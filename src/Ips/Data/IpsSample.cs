using Ips.Patches;
using static TorchSharp.torch;

namespace Ips.Data;

/// <summary>
/// One example: its patches and one label tensor per task name. Softmax tasks hold an int64 scalar class index;
/// sigmoid tasks a float32 vector of 0/1 of length n_class. Disposing the sample disposes its source and labels.
/// </summary>
public sealed class IpsSample : IDisposable
{
    /// <summary>Creates a sample that owns <paramref name="patches"/> and <paramref name="labels"/>.</summary>
    public IpsSample(string id, IPatchSource patches, IReadOnlyDictionary<string, Tensor> labels, PatchGrid? grid = null)
    {
        Id = id;
        Patches = patches;
        Labels = labels;
        Grid = grid;
    }

    /// <summary>Identifier for reports (file name, slide name, index).</summary>
    public string Id { get; }

    /// <summary>The image or slide as patches.</summary>
    public IPatchSource Patches { get; }

    /// <summary>Label per task name.</summary>
    public IReadOnlyDictionary<string, Tensor> Labels { get; }

    /// <summary>Pixel layout of the patches, for images; null for pre-extracted features.</summary>
    public PatchGrid? Grid { get; }

    /// <inheritdoc />
    public void Dispose()
    {
        Patches.Dispose();
        foreach (var label in Labels.Values)
        {
            label.Dispose();
        }
    }
}
