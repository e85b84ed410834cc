using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Ips.Encoders;

/// <summary>
/// One pre-norm transformer block of timm's <c>VisionTransformer</c>:
/// <c>x + ls1(attn(norm1(x)))</c>, then <c>x + ls2(mlp(norm2(x)))</c>. Field names are timm's state_dict names.
/// </summary>
public sealed class VitBlock : Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // Field names are timm's state_dict names.
    private readonly LayerNorm norm1;
    private readonly VitAttention attn;
    private readonly VitLayerScale? ls1;
    private readonly LayerNorm norm2;
    private readonly VitMlp mlp;
    private readonly VitLayerScale? ls2;
#pragma warning restore IDE1006

    /// <summary>A block of <paramref name="config"/>'s width, heads, MLP and LayerScale, with random weights, on <paramref name="device"/>.</summary>
    public VitBlock(VitConfig config, Device? device = null) : base("Block")
    {
        ArgumentNullException.ThrowIfNull(config);
        norm1 = LayerNorm(config.EmbedDim, eps: config.LayerNormEps, device: device);
        attn = new VitAttention(config.EmbedDim, config.Heads, config.QkvBias, device);
        norm2 = LayerNorm(config.EmbedDim, eps: config.LayerNormEps, device: device);
        mlp = new VitMlp(config, device);
        if (config.InitValues is { } scale)
        {
            ls1 = new VitLayerScale(config.EmbedDim, scale, device);
            ls2 = new VitLayerScale(config.EmbedDim, scale, device);
        }
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x) // [B, L, C]
    {
        using var scope = NewDisposeScope();
        var a = attn.forward(norm1.forward(x));
        x = x + (ls1?.forward(a) ?? a);
        var m = mlp.forward(norm2.forward(x));
        return (x + (ls2?.forward(m) ?? m)).MoveToOuterDisposeScope(); // [B, L, C]
    }
}

/// <summary>timm's <c>Attention</c>: one fused <c>qkv</c> projection, scaled dot-product attention per head, <c>proj</c>.</summary>
public sealed class VitAttention : Module<Tensor, Tensor>
{
    private readonly int _heads;
#pragma warning disable IDE1006 // Field names are timm's state_dict names.
    private readonly Linear qkv;
    private readonly Linear proj;
#pragma warning restore IDE1006

    /// <summary>Attention over <paramref name="dim"/>-wide tokens with <paramref name="heads"/> heads, on <paramref name="device"/>.</summary>
    public VitAttention(int dim, int heads, bool qkvBias, Device? device = null) : base("Attention")
    {
        _heads = heads;
        qkv = Linear(dim, 3 * dim, hasBias: qkvBias, device: device);
        proj = Linear(dim, dim, device: device);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x) // [B, L, C]
    {
        using var scope = NewDisposeScope();
        var (batch, length, width) = (x.shape[0], x.shape[1], x.shape[2]);
        // The fused projection's rows are q, then k, then v, each split into heads: timm's reshape and permute.
        var parts = qkv.forward(x).view(batch, length, 3, _heads, width / _heads).permute(2, 0, 3, 1, 4); // [3, B, h, L, C/h]
        var attended = functional.scaled_dot_product_attention(parts[0], parts[1], parts[2]);             // [B, h, L, C/h]
        return proj.forward(attended.transpose(1, 2).reshape(batch, length, width)).MoveToOuterDisposeScope(); // [B, L, C]
    }
}

/// <summary>timm's <c>LayerScale</c>: multiplies each channel by a learnt <c>gamma</c>.</summary>
public sealed class VitLayerScale : Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // Field names are timm's state_dict names.
    private readonly Parameter gamma;
#pragma warning restore IDE1006

    /// <summary>A scale of <paramref name="dim"/> channels, each starting at <paramref name="initValue"/>, on <paramref name="device"/>.</summary>
    public VitLayerScale(int dim, double initValue, Device? device = null) : base("LayerScale")
    {
        gamma = new Parameter(full(dim, initValue, device: device));
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x) => x * gamma;
}

/// <summary>
/// timm's <c>Mlp</c> (<c>fc2(act(fc1(x)))</c>) or <c>SwiGLUPacked</c> (<c>fc1</c> to the hidden width, its halves a and b,
/// <c>fc2(act(a) x b)</c> from half the width), as <see cref="VitConfig.MlpLayer"/> says.
/// </summary>
public sealed class VitMlp : Module<Tensor, Tensor>
{
    private readonly bool _gated;
    private readonly bool _silu;
#pragma warning disable IDE1006 // Field names are timm's state_dict names.
    private readonly Linear fc1;
    private readonly Linear fc2;
#pragma warning restore IDE1006

    /// <summary>The MLP of <paramref name="config"/>, with random weights, on <paramref name="device"/>.</summary>
    public VitMlp(VitConfig config, Device? device = null) : base("Mlp")
    {
        ArgumentNullException.ThrowIfNull(config);
        _gated = config.MlpLayer == "swiglu_packed";
        _silu = config.Activation == "silu";
        fc1 = Linear(config.EmbedDim, config.MlpHidden, device: device);
        fc2 = Linear(_gated ? config.MlpHidden / 2 : config.MlpHidden, config.EmbedDim, device: device);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x) // [B, L, C]
    {
        using var scope = NewDisposeScope();
        var hidden = fc1.forward(x); // [B, L, hidden]
        if (_gated)
        {
            var halves = hidden.chunk(2, dim: -1);
            hidden = Activate(halves[0]) * halves[1]; // [B, L, hidden / 2]
        }
        else
        {
            hidden = Activate(hidden);
        }
        return fc2.forward(hidden).MoveToOuterDisposeScope(); // [B, L, C]
    }

    private Tensor Activate(Tensor x) => _silu ? functional.silu(x) : functional.gelu(x);
}
