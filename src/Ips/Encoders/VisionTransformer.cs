using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Ips.Encoders;

/// <summary>
/// A vision transformer as timm's <c>VisionTransformer</c> builds it, under timm's state_dict names (<c>patch_embed.proj</c>,
/// <c>cls_token</c>, <c>reg_token</c>, <c>pos_embed</c>, <c>blocks.N.*</c>, <c>norm</c> or <c>fc_norm</c>) and without its
/// classifier head: maps tiles <c>[B, 3, H, W]</c> to pooled features <c>[B, D]</c>. A tile whose patch grid differs from
/// the configured image size's gets the positional embedding resampled bicubically (with antialiasing) to its grid, as
/// timm's <c>dynamic_img_size</c> does, the prefix tokens' entries kept as they are.
/// </summary>
public sealed class VisionTransformer : Module<Tensor, Tensor>
{
    private readonly VitConfig _config;
    private readonly string _pool;
#pragma warning disable IDE1006 // Field names are timm's state_dict names.
    private readonly VitPatchEmbed patch_embed;
    private readonly Parameter? cls_token;
    private readonly Parameter? reg_token;
    private readonly Parameter pos_embed;
    private readonly ModuleList<VitBlock> blocks;
    private readonly LayerNorm? norm;
    private readonly LayerNorm? fc_norm;
#pragma warning restore IDE1006

    /// <summary>
    /// A randomly initialised ViT of <paramref name="config"/> pooling with <paramref name="pool"/> (null: the config's
    /// <c>global_pool</c>), on <paramref name="device"/> (the <c>meta</c> device gives names and shapes without memory).
    /// <paramref name="source"/> names the config in errors.
    /// </summary>
    /// <exception cref="ArgumentException">No pooling is given (the config's is empty), or it does not fit the config.</exception>
    public VisionTransformer(VitConfig config, string? pool = null, string source = "ViT", Device? device = null) : base("VisionTransformer")
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate(source);
        _config = config;
        _pool = pool ?? config.GlobalPool;
        if (!VitConfig.Pools.Contains(_pool))
        {
            throw new ArgumentException(_pool.Length == 0
                ? $"{source}: the model pools nothing (global_pool \"\"); say how with --pool {string.Join('|', VitConfig.Pools)}"
                : $"{source}: --pool '{_pool}' is not known; expected {string.Join(", ", VitConfig.Pools)}");
        }
        if (_pool is "token" or "token+avg" && !config.ClassToken)
        {
            throw new ArgumentException($"{source}: --pool {_pool} needs a class token, and this model has none; use --pool avg");
        }
        if (_pool == "token+avg" && config.UsesFcNorm)
        {
            throw new ArgumentException($"{source}: --pool token+avg needs the tokens normalised before pooling (norm), and this model normalises after (fc_norm); use --pool avg");
        }
        patch_embed = new VitPatchEmbed(config.PatchSize, config.EmbedDim, device);
        // Tokens and positions drawn at timm's scales; the layers keep TorchSharp's default initialisation.
        if (config.ClassToken)
        {
            cls_token = new Parameter(normal(0, 1e-6, [1, 1, config.EmbedDim], device: device));
        }
        if (config.RegTokens > 0)
        {
            reg_token = new Parameter(normal(0, 1e-6, [1, config.RegTokens, config.EmbedDim], device: device));
        }
        var positions = config.GridSize * config.GridSize + (config.NoEmbedClass ? 0 : config.PrefixTokens);
        pos_embed = new Parameter(normal(0, 0.02, [1, positions, config.EmbedDim], device: device));
        blocks = new ModuleList<VitBlock>([.. Enumerable.Range(0, config.Depth).Select(_ => new VitBlock(config, device))]);
        if (config.UsesFcNorm)
        {
            fc_norm = LayerNorm(config.EmbedDim, eps: config.LayerNormEps, device: device);
        }
        else
        {
            norm = LayerNorm(config.EmbedDim, eps: config.LayerNormEps, device: device);
        }
        RegisterComponents();
    }

    /// <summary>The pooling applied: <c>token</c>, <c>avg</c> or <c>token+avg</c>.</summary>
    public string Pool => _pool;

    /// <summary>Width of a feature vector.</summary>
    public int OutputDim => _config.WidthUnder(_pool);

    /// <inheritdoc />
    public override Tensor forward(Tensor x) // [B, 3, H, W]
    {
        using var scope = NewDisposeScope();
        var batch = x.shape[0];
        var grid = patch_embed.forward(x);                    // [B, C, h, w]
        var (rows, columns) = (grid.shape[2], grid.shape[3]);
        var tokens = grid.flatten(2).transpose(1, 2);         // [B, h*w, C]
        var positions = PositionsFor(rows, columns);         // [1, h*w (+ prefix), C]
        var prefix = new List<Tensor>();
        if (cls_token is not null)
        {
            prefix.Add(cls_token.expand(batch, -1, -1));
        }
        if (reg_token is not null)
        {
            prefix.Add(reg_token.expand(batch, -1, -1));
        }
        // no_embed_class: positions belong to the patches alone and are added before the prefix is prepended.
        tokens = _config.NoEmbedClass
            ? cat([.. prefix, tokens + positions], 1)
            : cat([.. prefix, tokens], 1) + positions;        // [B, prefix + h*w, C]
        foreach (var block in blocks)
        {
            tokens = block.forward(tokens);
        }
        if (norm is not null)
        {
            tokens = norm.forward(tokens);
        }
        var patches = tokens.narrow(1, _config.PrefixTokens, rows * columns); // [B, h*w, C]
        var pooled = _pool switch
        {
            "token" => tokens[.., 0],
            "avg" => patches.mean([1]),
            _ => cat([tokens[.., 0], patches.mean([1])], 1),
        };                                                                     // [B, D]
        return (fc_norm?.forward(pooled) ?? pooled).MoveToOuterDisposeScope();
    }

    // timm's resample_abs_pos_embed (or transformers' DINOv2 variant): the patch positions as a square grid, resized
    // bicubically to the tile's grid; the prefix tokens' positions (when the embedding has them) are kept in front.
    private Tensor PositionsFor(long rows, long columns)
    {
        var side = _config.GridSize;
        if (rows == side && columns == side)
        {
            return pos_embed;
        }
        var prefixCount = _config.NoEmbedClass ? 0 : _config.PrefixTokens;
        var width = _config.EmbedDim;
        var square = pos_embed.narrow(1, prefixCount, side * side)
            .reshape(1, side, side, width).permute(0, 3, 1, 2);                 // [1, C, side, side]
        var resized = (_config.PositionResize == "dinov2"
                ? functional.interpolate(square, scale_factor: [(rows + 0.1) / side, (columns + 0.1) / side], mode: InterpolationMode.Bicubic, align_corners: false)
                : functional.interpolate(square, size: [rows, columns], mode: InterpolationMode.Bicubic, align_corners: false, antialias: true))
            .permute(0, 2, 3, 1).reshape(1, rows * columns, width);             // [1, rows*columns, C]
        return prefixCount == 0 ? resized : cat([pos_embed.narrow(1, 0, prefixCount), resized], 1);
    }
}

/// <summary>timm's <c>PatchEmbed</c>: a convolution whose kernel and stride are the patch side (<c>proj</c>).</summary>
public sealed class VitPatchEmbed : Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // Field names are timm's state_dict names.
    private readonly Conv2d proj;
#pragma warning restore IDE1006

    /// <summary>Patches of <paramref name="patchSize"/> pixels to <paramref name="dim"/>-wide tokens, on <paramref name="device"/>.</summary>
    public VitPatchEmbed(int patchSize, int dim, Device? device = null) : base("PatchEmbed")
    {
        proj = Conv2d(3, dim, kernel_size: patchSize, stride: patchSize, device: device);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x) => proj.forward(x); // [B, C, H/p, W/p]
}
