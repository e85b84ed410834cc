namespace Ips.Encoders;

/// <summary>
/// The shape of a vision transformer as timm's <c>VisionTransformer</c> takes it (the constructor arguments of the same
/// names): what a timm model name gives, overridden by a <c>config.json</c>'s <c>model_args</c>. The hidden width of
/// the MLP is <c>int(EmbedDim x MlpRatio)</c>, as timm computes it.
/// </summary>
/// <param name="ImageSize">Side of the images the positional embedding was trained for (<c>img_size</c>).</param>
/// <param name="PatchSize">Side of a patch, the stride of the patch embedding (<c>patch_size</c>).</param>
/// <param name="EmbedDim">Token width (<c>embed_dim</c>).</param>
/// <param name="Depth">Number of blocks (<c>depth</c>).</param>
/// <param name="Heads">Attention heads (<c>num_heads</c>).</param>
/// <param name="MlpRatio">MLP hidden width over the token width (<c>mlp_ratio</c>).</param>
/// <param name="MlpLayer"><c>mlp</c> (<c>fc1</c>, activation, <c>fc2</c>) or <c>swiglu_packed</c> (timm's <c>SwiGLUPacked</c>:
/// <c>fc1</c> to the hidden width, halves a and b, <c>act(a) x b</c>, <c>fc2</c> from half the width).</param>
/// <param name="Activation"><c>gelu</c> (exact, as <c>nn.GELU</c>) or <c>silu</c> (<c>act_layer</c>).</param>
/// <param name="QkvBias">Whether the fused <c>qkv</c> projection has a bias (<c>qkv_bias</c>).</param>
/// <param name="InitValues">LayerScale's initial value (<c>init_values</c>): when set, each block scales its two branches by
/// learnt <c>ls1.gamma</c> and <c>ls2.gamma</c>; null for none.</param>
/// <param name="RegTokens">Register tokens after the class token (<c>reg_tokens</c>).</param>
/// <param name="ClassToken">Whether a class token leads the sequence (<c>class_token</c>).</param>
/// <param name="NoEmbedClass">Whether the positional embedding covers the patches only and is added before the class and
/// register tokens are prepended (<c>no_embed_class</c>); otherwise it covers them too and is added after.</param>
/// <param name="GlobalPool">Pooling of the final tokens (<c>global_pool</c>): <c>token</c> (the class token), <c>avg</c>
/// (mean of the patch tokens), <c>token+avg</c> (both, concatenated: Virchow's embedding) or empty (none).</param>
/// <param name="FcNorm">Whether the final LayerNorm is applied after pooling (<c>fc_norm</c>) instead of to every token
/// (<c>norm</c>); null for timm's default, true exactly when the pool is <c>avg</c>.</param>
/// <param name="LayerNormEps">Epsilon of every LayerNorm: timm's 1e-6; a transformers ViT's <c>layer_norm_eps</c>.</param>
/// <param name="PositionResize">How the positional embedding is resampled to another patch grid: <c>timm</c>
/// (<c>resample_abs_pos_embed</c>: bicubic to the grid's size, antialiased) or <c>dinov2</c> (transformers'
/// <c>Dinov2Embeddings</c>: bicubic by the scale factor <c>(grid + 0.1) / side</c>, not antialiased).</param>
public sealed record VitConfig(
    int ImageSize,
    int PatchSize,
    int EmbedDim,
    int Depth,
    int Heads,
    double MlpRatio = 4.0,
    string MlpLayer = "mlp",
    string Activation = "gelu",
    bool QkvBias = true,
    double? InitValues = null,
    int RegTokens = 0,
    bool ClassToken = true,
    bool NoEmbedClass = false,
    string GlobalPool = "token",
    bool? FcNorm = null,
    double LayerNormEps = 1e-6,
    string PositionResize = "timm")
{
    /// <summary>The poolings a ViT's tokens can be reduced with (the empty one, none, aside).</summary>
    public static IReadOnlyList<string> Pools { get; } = ["token", "avg", "token+avg"];

    /// <summary>Tokens before the patch tokens: the class token and the registers.</summary>
    public int PrefixTokens => (ClassToken ? 1 : 0) + RegTokens;

    /// <summary>Output width of <c>fc1</c>, <c>int(EmbedDim x MlpRatio)</c> as timm rounds it.</summary>
    public int MlpHidden => (int)(EmbedDim * MlpRatio);

    /// <summary>Whether the final LayerNorm follows the pooling (<c>fc_norm</c>) rather than preceding it (<c>norm</c>).</summary>
    public bool UsesFcNorm => FcNorm ?? GlobalPool == "avg";

    /// <summary>Patches per side at the configured image size.</summary>
    public int GridSize => ImageSize / PatchSize;

    /// <summary>Width of the feature vector under <paramref name="pool"/>: twice the token width for <c>token+avg</c>.</summary>
    public int WidthUnder(string pool) => pool == "token+avg" ? 2 * EmbedDim : EmbedDim;

    /// <summary>Refuses a configuration timm would not build, naming <paramref name="source"/> and the value.</summary>
    /// <exception cref="ArgumentException">A value out of range or an unknown layer name.</exception>
    public void Validate(string source)
    {
        string? problem =
            ImageSize <= 0 || PatchSize <= 0 || ImageSize % PatchSize != 0 ? $"img_size {ImageSize} must be a positive multiple of patch_size {PatchSize}"
            : EmbedDim <= 0 || Depth <= 0 || Heads <= 0 || EmbedDim % Heads != 0 ? $"embed_dim {EmbedDim} must be a positive multiple of num_heads {Heads} (depth {Depth} > 0)"
            : MlpRatio <= 0 ? $"mlp_ratio {MlpRatio} must be positive"
            : MlpLayer is not ("mlp" or "swiglu_packed") ? $"mlp_layer '{MlpLayer}' is not known; expected mlp or swiglu_packed"
            : MlpLayer == "swiglu_packed" && MlpHidden % 2 != 0 ? $"swiglu_packed needs an even hidden width, int(embed_dim x mlp_ratio) = {MlpHidden}"
            : Activation is not ("gelu" or "silu") ? $"act_layer '{Activation}' is not known; expected gelu or silu"
            : RegTokens < 0 ? $"reg_tokens {RegTokens} must not be negative"
            : GlobalPool is not ("" or "token" or "avg" or "token+avg") ? $"global_pool '{GlobalPool}' is not known; expected token, avg, token+avg or \"\""
            : GlobalPool is "token" or "token+avg" && !ClassToken ? $"global_pool '{GlobalPool}' needs a class token (class_token is false)"
            : null;
        if (problem is not null)
        {
            throw new ArgumentException($"{source}: {problem}");
        }
    }
}
