using TorchSharp;
using static TorchSharp.torch;

namespace Ips.Encoders;

/// <summary>
/// A bfloat16 copy of a model's patch encoder for the no-grad selection pass (<c>selection_dtype: bfloat16</c>). The
/// float32 encoder keeps training; before each selection its current weights and running statistics are copied into
/// this one, which always runs in evaluation mode. Only the encoder runs in bfloat16: it is nearly all of the
/// selection's arithmetic, while the cross-attention scores, about 1 / (M + I) each, would tie in bfloat16's 8-bit
/// mantissa and make the top-M choice arbitrary among them.
/// </summary>
internal sealed class Bfloat16Encoder
{
    private readonly nn.Module<Tensor, Tensor> _encoder;
    private readonly Dictionary<string, Tensor> _state;

    /// <summary>
    /// Takes <paramref name="encoder"/>, a fresh module of the trained encoder's architecture (its weights arrive at
    /// every <see cref="Refresh"/>), and keeps it in bfloat16 on <paramref name="device"/>.
    /// </summary>
    public Bfloat16Encoder(nn.Module<Tensor, Tensor> encoder, Device device)
    {
        _encoder = encoder;
        encoder.to(bfloat16).to(device);
        encoder.eval();
        _state = encoder.state_dict();
        Device = device;
    }

    /// <summary>The device the copy lives on.</summary>
    public Device Device { get; }

    /// <summary>Copies <paramref name="source"/>'s parameters and buffers, rounded to bfloat16.</summary>
    public void Refresh(nn.Module source)
    {
        using var noGrad = no_grad();
        foreach (var (name, tensor) in source.state_dict())
        {
            _state[name].copy_(tensor);
        }
    }

    /// <summary>Embeds a chunk <c>[B, K, *patchShape]</c> to float32 <c>[B, K, D]</c>.</summary>
    public Tensor Embed(Tensor patches)
    {
        using var scope = NewDisposeScope();
        var (batch, count) = (patches.shape[0], patches.shape[1]);
        var flat = patches.reshape([batch * count, .. patches.shape.Skip(2)]).to(bfloat16); // [B*K, *patchShape]
        return _encoder.call(flat).to(float32).view(batch, count, -1).MoveToOuterDisposeScope(); // [B, K, D]
    }
}
