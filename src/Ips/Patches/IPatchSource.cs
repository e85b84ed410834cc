using static TorchSharp.torch;

namespace Ips.Patches;

/// <summary>
/// An image seen as a sequence of <see cref="Count"/> patches that IPS reads in chunks and then by index
/// (docs/design.md section 6). Implementations decide where the patches live: on the device (eager), in host memory
/// (lazy), or on disk (streamed). Returned tensors are new tensors the caller owns and disposes.
/// </summary>
public interface IPatchSource : IDisposable
{
    /// <summary>Number of patches, N.</summary>
    int Count { get; }

    /// <summary>Shape of one patch: <c>[C, ph, pw]</c> for images, <c>[n_chan_in]</c> for features.</summary>
    long[] PatchShape { get; }

    /// <summary>Device on which <see cref="Read"/> and <see cref="Gather"/> return tensors.</summary>
    Device Device { get; }

    /// <summary>Patches <c>start .. start+count-1</c> in original order: <c>[count, *PatchShape]</c>, float32.</summary>
    Tensor Read(int start, int count);

    /// <summary>The patches at <paramref name="indices"/>, in that order: <c>[k, *PatchShape]</c>, float32.</summary>
    Tensor Gather(ReadOnlySpan<long> indices);
}
