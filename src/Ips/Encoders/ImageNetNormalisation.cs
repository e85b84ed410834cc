using static TorchSharp.torch;

namespace Ips.Encoders;

/// <summary>
/// ImageNet's per-channel (RGB) mean and standard deviation, with which torchvision's models were trained: an encoder
/// of torchvision weights reads <c>(pixel - Mean) / Std</c> for pixels in [0, 1]. The one copy of these numbers.
/// </summary>
public static class ImageNetNormalisation
{
    /// <summary>The mean of each channel (R, G, B); a fresh array on each call, so no caller can change it.</summary>
    public static float[] Mean => [0.485f, 0.456f, 0.406f];

    /// <summary>The standard deviation of each channel (R, G, B); a fresh array on each call.</summary>
    public static float[] Std => [0.229f, 0.224f, 0.225f];

    /// <summary>
    /// <c>(x - Mean) / Std</c> per channel for RGB in [0, 1], <paramref name="x"/> being <c>[3, H, W]</c> or
    /// <c>[B, 3, H, W]</c> on any device. The caller owns the result.
    /// </summary>
    public static Tensor Apply(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        using var mean = tensor(Mean).to(x.device).view(3, 1, 1);
        using var std = tensor(Std).to(x.device).view(3, 1, 1);
        return (x - mean) / std;
    }
}
