using Ips.Encoders;
using Ips.Patches;
using static TorchSharp.torch;

namespace Ips.Data.OwnImages;

/// <summary>
/// RGB patches in [0, 1] from another source, normalised with ImageNet's mean and standard deviation as each chunk is
/// read (<c>normalize: imagenet</c>), so a slide's tiles reach a pretrained encoder as your own images do without the
/// slide ever being held whole. Owns and disposes the inner source.
/// </summary>
public sealed class NormalisedPatchSource(IPatchSource inner) : IPatchSource
{
    private readonly IPatchSource _inner = inner ?? throw new ArgumentNullException(nameof(inner));

    /// <inheritdoc />
    public int Count => _inner.Count;

    /// <inheritdoc />
    public long[] PatchShape => _inner.PatchShape;

    /// <inheritdoc />
    public Device Device => _inner.Device;

    /// <inheritdoc />
    public Tensor Read(int start, int count)
    {
        using var patches = _inner.Read(start, count); // [k, 3, ph, pw]
        return ImageNetNormalisation.Apply(patches);
    }

    /// <inheritdoc />
    public Tensor Gather(ReadOnlySpan<long> indices)
    {
        using var patches = _inner.Gather(indices); // [k, 3, ph, pw]
        return ImageNetNormalisation.Apply(patches);
    }

    /// <inheritdoc />
    public void Dispose() => _inner.Dispose();
}
