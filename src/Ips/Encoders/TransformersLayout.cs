using System.Globalization;
using System.Text.RegularExpressions;
using static TorchSharp.torch;

namespace Ips.Encoders;

/// <summary>
/// The state_dict names of transformers' <c>ViTModel</c> and <c>Dinov2Model</c> (Phikon, Phikon-v2) mapped onto timm's,
/// so that one <see cref="VisionTransformer"/> runs both: <c>embeddings.*</c> to <c>cls_token</c>, <c>pos_embed</c> and
/// <c>patch_embed.proj</c>; <c>encoder.layer.N.*</c> to <c>blocks.N.*</c> with the separate query, key and value
/// projections concatenated (in that order) into timm's fused <c>qkv</c>; <c>layer_scaleK.lambda1</c> to
/// <c>lsK.gamma</c>; the final <c>layernorm</c> to <c>norm</c>. The pooler and the mask token have no timm
/// counterpart and are dropped; any other name is passed on unchanged, so the strict key check reports it.
/// </summary>
public static partial class TransformersLayout
{
    private static readonly Dictionary<string, string> Embeddings = new(StringComparer.Ordinal)
    {
        ["embeddings.cls_token"] = "cls_token",
        ["embeddings.position_embeddings"] = "pos_embed",
        ["embeddings.patch_embeddings.projection.weight"] = "patch_embed.proj.weight",
        ["embeddings.patch_embeddings.projection.bias"] = "patch_embed.proj.bias",
        ["layernorm.weight"] = "norm.weight",
        ["layernorm.bias"] = "norm.bias",
    };

    // Names within encoder.layer.N for ViTModel and Dinov2Model; both spellings are mapped for either.
    private static readonly Dictionary<string, string> LayerParts = new(StringComparer.Ordinal)
    {
        ["layernorm_before"] = "norm1",
        ["layernorm_after"] = "norm2",
        ["norm1"] = "norm1",
        ["norm2"] = "norm2",
        ["attention.output.dense"] = "attn.proj",
        ["intermediate.dense"] = "mlp.fc1",
        ["output.dense"] = "mlp.fc2",
        ["mlp.fc1"] = "mlp.fc1",
        ["mlp.fc2"] = "mlp.fc2",
        ["layer_scale1.lambda1"] = "ls1.gamma",
        ["layer_scale2.lambda1"] = "ls2.gamma",
    };

    /// <summary>
    /// <paramref name="state"/> (transformers' names; its tensors are taken over) under timm's names, for a model of
    /// <paramref name="depth"/> layers. The caller owns the returned tensors.
    /// </summary>
    public static Dictionary<string, Tensor> ToTimm(Dictionary<string, Tensor> state, bool dinov2, int depth)
    {
        ArgumentNullException.ThrowIfNull(state);
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (key, value) in state)
        {
            if (Embeddings.TryGetValue(key, out var mapped))
            {
                result[mapped] = value;
            }
            else if (key.StartsWith("pooler.", StringComparison.Ordinal) || (dinov2 && key == "embeddings.mask_token"))
            {
                value.Dispose();
            }
            else if (LayerKey().Match(key) is { Success: true } match && LayerParts.TryGetValue(match.Groups[2].Value, out var part))
            {
                result[$"blocks.{match.Groups[1].Value}.{part}{match.Groups[3].Value}"] = value;
            }
            else if (QkvKey().Match(key) is not { Success: true })
            {
                result[key] = value;
            }
        }
        // The layers the file holds, not 0 .. depth: depth comes from config.json, and a damaged one (2^31 - 1) would
        // loop for minutes over layers that are not there (docs/reliability.md). Layers beyond depth
        // keep their own names, so the key check reports them.
        var layers = state.Keys.Select(key => QkvKey().Match(key)).Where(match => match.Success)
            .Select(match => match.Groups[1].Value).Distinct(StringComparer.Ordinal).ToList();
        foreach (var layer in layers)
        {
            var inModel = int.TryParse(layer, NumberStyles.None, CultureInfo.InvariantCulture, out var index) && index < depth;
            foreach (var kind in new[] { "weight", "bias" })
            {
                var parts = new[] { "query", "key", "value" }.Select(name => $"encoder.layer.{layer}.attention.attention.{name}.{kind}").ToArray();
                var fused = inModel && parts.All(state.ContainsKey);
                if (fused)
                {
                    result[$"blocks.{layer}.attn.qkv.{kind}"] = cat([.. parts.Select(part => state[part])], 0);
                }
                foreach (var part in parts.Where(state.ContainsKey))
                {
                    // Partial triples stay under their own names, so the key check names what is missing.
                    if (!fused)
                    {
                        result[part] = state[part];
                    }
                    else
                    {
                        state[part].Dispose();
                    }
                }
            }
        }
        return result;
    }

    [GeneratedRegex(@"^encoder\.layer\.(\d+)\.(.+?)(\.weight|\.bias|)$")]
    private static partial Regex LayerKey();

    [GeneratedRegex(@"^encoder\.layer\.(\d+)\.attention\.attention\.(query|key|value)\.(weight|bias)$")]
    private static partial Regex QkvKey();
}
