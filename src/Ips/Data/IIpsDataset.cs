namespace Ips.Data;

/// <summary>
/// A dataset the trainer can train on without knowing what it is. <see cref="Load"/> must be safe to call from a
/// background thread; it returns patches in host memory (the trainer moves them to the device when eager).
/// </summary>
public interface IIpsDataset
{
    /// <summary>Number of examples.</summary>
    int Count { get; }

    /// <summary>Loads example <paramref name="index"/>; <paramref name="train"/> enables training-time augmentation.</summary>
    IpsSample Load(int index, bool train);
}
