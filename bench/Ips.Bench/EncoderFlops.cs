using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Ips.Bench;

/// <summary>
/// Forward FLOPs of a patch encoder for one patch, counted analytically as 2 x the multiply-accumulates of its
/// convolutions and linear layers (batch norms, activations and pooling are left out, so figures are slight
/// underestimates). Each layer's output size comes from running it on a zero tensor, so strides and padding need
/// no bookkeeping.
/// </summary>
internal static class EncoderFlops
{
    /// <summary>FLOPs of <paramref name="encoder"/> (a <c>Sequential</c>) on one patch of <paramref name="patchShape"/>.</summary>
    public static double PerPatch(nn.Module encoder, long[] patchShape)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var training = encoder.training;
        encoder.eval(); // batch norms must not update their running statistics on the probe
        try
        {
            var device = encoder.parameters().FirstOrDefault()?.device ?? CPU;
            var input = zeros([1, .. patchShape], device: device);
            return 2 * Macs(encoder, input);
        }
        finally
        {
            encoder.train(training);
        }
    }

    /// <summary>MACs of <paramref name="module"/> on <paramref name="input"/>.</summary>
    private static double Macs(nn.Module module, Tensor input)
    {
        switch (module)
        {
            case Conv2d conv:
                {
                    var output = conv.forward(input);                        // [1, Cout, Ho, Wo]
                    return output.numel() * (conv.weight!.numel() / conv.weight.shape[0]); // each output: Cin/groups * kh * kw MACs
                }
            case Linear linear:
                return input.numel() / input.shape[^1] * linear.weight!.numel();
            case Sequential sequential:
                {
                    var macs = 0.0;
                    foreach (var child in sequential.children())
                    {
                        macs += Macs(child, input);
                        input = ((nn.Module<Tensor, Tensor>)child).forward(input);
                    }
                    return macs;
                }
            default:
                return ResidualBlock(module, input);
        }
    }

    /// <summary>
    /// A torchvision residual block (BasicBlock or Bottleneck): conv1, conv2 [, conv3] in a chain, and the
    /// optional downsample on the block's input. Other modules (norms, activations, pooling) count 0.
    /// </summary>
    private static double ResidualBlock(nn.Module module, Tensor input)
    {
        var children = module.named_children().ToDictionary(child => child.name, child => child.module);
        if (!children.ContainsKey("conv1"))
        {
            return 0;
        }
        var macs = 0.0;
        var current = input;
        foreach (var name in new[] { "conv1", "conv2", "conv3" })
        {
            if (children.TryGetValue(name, out var conv))
            {
                macs += Macs(conv, current);
                current = ((nn.Module<Tensor, Tensor>)conv).forward(current);
            }
        }
        if (children.TryGetValue("downsample", out var downsample))
        {
            macs += Macs(downsample, input);
        }
        return macs;
    }
}
