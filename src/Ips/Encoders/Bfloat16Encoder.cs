using Ips.Configuration;
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
    private readonly nn.Module<Tensor, Tensor> encoder;
    private readonly Dictionary<string, Tensor> state;

    /// <summary>
    /// What to tell the user before training with <paramref name="config"/> on <paramref name="device"/>: null, or that
    /// <c>selection_dtype: bfloat16</c> will be slower than float32 because the CPU has no bfloat16 arithmetic
    /// (<paramref name="nativeBfloat16"/> false). Measured on a Zen 3 without AVX-512 (docs/performance.md):
    /// selection 20x slower on Megapixel MNIST and 7x on CAMELYON16 features.
    /// </summary>
    public static string? SlowCpuNote(IpsConfig config, Device device, bool? nativeBfloat16) =>
        config.SelectionDtype == "bfloat16" && device.type == DeviceType.CPU && nativeBfloat16 == false
            ? $"selection_dtype bfloat16 (config {config.Source}): this CPU has no bfloat16 arithmetic (no avx512_bf16 " +
              "or amx_bf16 flag), so libtorch emulates it and selection runs several times slower than in float32 " +
              "(7x to 20x measured); selection_dtype float32 is the faster choice here"
            : null;

    public Bfloat16Encoder(IpsConfig config, Device device)
    {
        // Its weights come from the trained encoder at every Refresh, so no pretrained file is read here.
        encoder = PatchEncoders.Create(config with { Pretrained = false });
        encoder.to(bfloat16).to(device);
        encoder.eval();
        state = encoder.state_dict();
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
            state[name].copy_(tensor);
        }
    }

    /// <summary>Embeds a chunk <c>[B, K, *patchShape]</c> to float32 <c>[B, K, D]</c>.</summary>
    public Tensor Embed(Tensor patches)
    {
        using var scope = NewDisposeScope();
        var (batch, count) = (patches.shape[0], patches.shape[1]);
        var flat = patches.reshape([batch * count, .. patches.shape.Skip(2)]).to(bfloat16); // [B*K, *patchShape]
        return encoder.call(flat).to(float32).view(batch, count, -1).MoveToOuterDisposeScope(); // [B, K, D]
    }
}
