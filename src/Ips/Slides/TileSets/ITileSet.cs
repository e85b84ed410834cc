using static TorchSharp.torch;

namespace Ips.Slides.TileSets;

/// <summary>A collection of RGB tiles for pre-training, decoded one at a time on demand (thread-safe).</summary>
public interface ITileSet : IDisposable
{
    /// <summary>Number of tiles.</summary>
    int Count { get; }

    /// <summary>Tile <paramref name="index"/> as float32 <c>[3, H, W]</c> in [0, 1] on the CPU; the caller owns it.</summary>
    Tensor Load(int index);

    /// <summary>Where tile <paramref name="index"/> comes from (a file, or a slide and position), for messages.</summary>
    string Describe(int index);
}
