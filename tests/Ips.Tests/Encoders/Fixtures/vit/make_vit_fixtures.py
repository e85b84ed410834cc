"""Makes the golden fixtures of VisionTransformerTests: small random vision transformers in the Hugging Face hub layout
(config.json + pytorch_model.bin) with a batch of inputs and the features a reference computes for them (io.pt).

Run with Debian's python3-torch / python3-torchvision (torch 1.13, torchvision 0.14), from this folder:
    /usr/bin/python3 make_vit_fixtures.py
Two independent references:
- "torchvision": torchvision's own VisionTransformer (the vit_b_16 architecture at depth 2, width 64), its class token
  after the final LayerNorm, with its state_dict renamed to timm's keys.
- the functions below, written from the published code of timm's VisionTransformer (Block, Attention, LayerScale,
  Mlp/GluMlp, _pos_embed, resample_abs_pos_embed, forward_head) and of transformers' ViTModel and Dinov2Model, for
  registers, LayerScale, SwiGLUPacked, no_embed_class, avg / token+avg pooling, positional-embedding interpolation
  and the two transformers layouts. Each case's weights are drawn at random (LayerNorm and LayerScale too, so every
  parameter matters) with a fixed seed.
"""
import json
import math
import os

import torch
import torch.nn.functional as F
import torchvision

HERE = os.path.dirname(os.path.abspath(__file__))


def randomise(state, generator):
    """Every tensor drawn afresh: weights around their usual scale, LayerNorm and LayerScale scales around 1."""
    out = {}
    for key, value in state.items():
        noise = torch.randn(value.shape, generator=generator)
        if key.endswith(("norm1.weight", "norm2.weight", "norm.weight", "ln_1.weight", "ln_2.weight", "ln.weight",
                         "layernorm_before.weight", "layernorm_after.weight", "layernorm.weight", "fc_norm.weight")):
            out[key] = 1.0 + 0.2 * noise
        elif key.endswith(("gamma", "lambda1")):
            out[key] = 0.5 + 0.3 * noise
        else:
            fan_in = value[0].numel() if value.dim() >= 2 else 16
            out[key] = noise / math.sqrt(fan_in)
    return out


def attention(x, q, k, v, wo, bo, heads):
    """Multi-head softmax attention given the projected q, k, v: [B, L, C] each."""
    b, n, c = x.shape
    split = lambda t: t.reshape(b, n, heads, c // heads).transpose(1, 2)
    q, k, v = split(q), split(k), split(v)
    weights = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(c // heads), dim=-1)
    return F.linear((weights @ v).transpose(1, 2).reshape(b, n, c), wo, bo)


def resample(pos, grid, rows, cols, mode):
    """Patch positions [1, grid*grid, C] to [1, rows*cols, C]: timm's resample_abs_pos_embed or transformers' DINOv2."""
    if rows == grid and cols == grid:
        return pos
    c = pos.shape[-1]
    square = pos.reshape(1, grid, grid, c).permute(0, 3, 1, 2)
    if mode == "timm":
        square = F.interpolate(square, size=(rows, cols), mode="bicubic", antialias=True, align_corners=False)
    else:
        square = F.interpolate(square, scale_factor=((rows + 0.1) / grid, (cols + 0.1) / grid), mode="bicubic",
                               align_corners=False)
    return square.permute(0, 2, 3, 1).reshape(1, rows * cols, c)


def timm_reference(s, cfg, x, pool):
    """timm's VisionTransformer.forward_features + forward_head (num_classes 0) on the state_dict s."""
    dim, heads, p = cfg["embed_dim"], cfg["num_heads"], cfg["patch_size"]
    eps = 1e-6
    reg = cfg.get("reg_tokens", 0)
    prefix_count = 1 + reg
    grid = cfg["img_size"] // p
    tokens = F.conv2d(x, s["patch_embed.proj.weight"], s["patch_embed.proj.bias"], stride=p)
    rows, cols = tokens.shape[2], tokens.shape[3]
    tokens = tokens.flatten(2).transpose(1, 2)
    b = x.shape[0]
    prefix = [s["cls_token"].expand(b, -1, -1)] + ([s["reg_token"].expand(b, -1, -1)] if reg else [])
    pos = s["pos_embed"]
    if cfg.get("no_embed_class", False):
        tokens = torch.cat(prefix + [tokens + resample(pos, grid, rows, cols, "timm")], dim=1)
    else:
        pos = torch.cat([pos[:, :prefix_count], resample(pos[:, prefix_count:], grid, rows, cols, "timm")], dim=1)
        tokens = torch.cat(prefix + [tokens], dim=1) + pos
    for i in range(cfg["depth"]):
        g = lambda name: s[f"blocks.{i}.{name}"]
        h = F.layer_norm(tokens, (dim,), g("norm1.weight"), g("norm1.bias"), eps)
        qkv = F.linear(h, g("attn.qkv.weight"), s.get(f"blocks.{i}.attn.qkv.bias"))
        q, k, v = qkv.split(dim, dim=-1)
        a = attention(h, q, k, v, g("attn.proj.weight"), g("attn.proj.bias"), heads)
        if f"blocks.{i}.ls1.gamma" in s:
            a = a * g("ls1.gamma")
        tokens = tokens + a
        h = F.layer_norm(tokens, (dim,), g("norm2.weight"), g("norm2.bias"), eps)
        h = F.linear(h, g("mlp.fc1.weight"), g("mlp.fc1.bias"))
        if cfg.get("mlp_layer") == "swiglu_packed":
            first, second = h.chunk(2, dim=-1)
            h = F.silu(first) * second
        else:
            h = F.silu(h) if cfg.get("act_layer") == "silu" else F.gelu(h)
        m = F.linear(h, g("mlp.fc2.weight"), g("mlp.fc2.bias"))
        if f"blocks.{i}.ls2.gamma" in s:
            m = m * g("ls2.gamma")
        tokens = tokens + m
    if "norm.weight" in s:
        tokens = F.layer_norm(tokens, (dim,), s["norm.weight"], s["norm.bias"], eps)
    patches = tokens[:, prefix_count:]
    pooled = {"token": tokens[:, 0], "avg": patches.mean(1),
              "token+avg": torch.cat([tokens[:, 0], patches.mean(1)], dim=-1)}[pool]
    if "fc_norm.weight" in s:
        pooled = F.layer_norm(pooled, (dim,), s["fc_norm.weight"], s["fc_norm.bias"], eps)
    return pooled


def transformers_reference(s, cfg, x, dinov2):
    """transformers' ViTModel / Dinov2Model last_hidden_state[:, 0] on the state_dict s (HF names)."""
    dim, heads, p = cfg["hidden_size"], cfg["num_attention_heads"], cfg["patch_size"]
    eps = cfg["layer_norm_eps"]
    grid = cfg["image_size"] // p
    e = lambda name: s[f"embeddings.{name}"]
    tokens = F.conv2d(x, e("patch_embeddings.projection.weight"), e("patch_embeddings.projection.bias"), stride=p)
    rows, cols = tokens.shape[2], tokens.shape[3]
    tokens = torch.cat([e("cls_token").expand(x.shape[0], -1, -1), tokens.flatten(2).transpose(1, 2)], dim=1)
    pos = e("position_embeddings")
    pos = torch.cat([pos[:, :1], resample(pos[:, 1:], grid, rows, cols, "dinov2" if dinov2 else "timm")], dim=1)
    tokens = tokens + pos
    before, after = ("norm1", "norm2") if dinov2 else ("layernorm_before", "layernorm_after")
    for i in range(cfg["num_hidden_layers"]):
        g = lambda name: s[f"encoder.layer.{i}.{name}"]
        h = F.layer_norm(tokens, (dim,), g(f"{before}.weight"), g(f"{before}.bias"), eps)
        sa = "attention.attention."
        q = F.linear(h, g(sa + "query.weight"), g(sa + "query.bias"))
        k = F.linear(h, g(sa + "key.weight"), g(sa + "key.bias"))
        v = F.linear(h, g(sa + "value.weight"), g(sa + "value.bias"))
        a = attention(h, q, k, v, g("attention.output.dense.weight"), g("attention.output.dense.bias"), heads)
        if dinov2:
            a = a * g("layer_scale1.lambda1")
        tokens = tokens + a
        h = F.layer_norm(tokens, (dim,), g(f"{after}.weight"), g(f"{after}.bias"), eps)
        if dinov2:
            m = F.linear(F.gelu(F.linear(h, g("mlp.fc1.weight"), g("mlp.fc1.bias"))), g("mlp.fc2.weight"), g("mlp.fc2.bias"))
            m = m * g("layer_scale2.lambda1")
        else:
            m = F.linear(F.gelu(F.linear(h, g("intermediate.dense.weight"), g("intermediate.dense.bias"))),
                         g("output.dense.weight"), g("output.dense.bias"))
        tokens = tokens + m
    tokens = F.layer_norm(tokens, (dim,), s["layernorm.weight"], s["layernorm.bias"], eps)
    return tokens[:, 0]


def timm_state(cfg, pool_fc_norm, generator):
    """A random state_dict of timm's names and shapes for cfg."""
    return randomise({k: torch.zeros(v) for k, v in timm_shapes(cfg, pool_fc_norm).items()}, generator)


def timm_shapes(cfg, pool_fc_norm):
    """timm's parameter names and shapes for cfg (VisionTransformer.__init__ with num_classes 0)."""
    dim, depth = cfg["embed_dim"], cfg["depth"]
    hidden = int(dim * cfg.get("mlp_ratio", 4.0))
    reg = cfg.get("reg_tokens", 0)
    grid = cfg["img_size"] // cfg["patch_size"]
    shapes = {"cls_token": (1, 1, dim),
              "pos_embed": (1, grid * grid + (0 if cfg.get("no_embed_class", False) else 1 + reg), dim),
              "patch_embed.proj.weight": (dim, 3, cfg["patch_size"], cfg["patch_size"]), "patch_embed.proj.bias": (dim,)}
    if reg:
        shapes["reg_token"] = (1, reg, dim)
    for i in range(depth):
        b = f"blocks.{i}."
        shapes.update({b + "norm1.weight": (dim,), b + "norm1.bias": (dim,), b + "attn.qkv.weight": (3 * dim, dim),
                       b + "attn.proj.weight": (dim, dim), b + "attn.proj.bias": (dim,), b + "norm2.weight": (dim,),
                       b + "norm2.bias": (dim,), b + "mlp.fc1.weight": (hidden, dim), b + "mlp.fc1.bias": (hidden,),
                       b + "mlp.fc2.bias": (dim,)})
        fc2_in = hidden // 2 if cfg.get("mlp_layer") == "swiglu_packed" else hidden
        shapes[b + "mlp.fc2.weight"] = (dim, fc2_in)
        if cfg.get("qkv_bias", True):
            shapes[b + "attn.qkv.bias"] = (3 * dim,)
        if cfg.get("init_values") is not None:
            shapes[b + "ls1.gamma"] = (dim,)
            shapes[b + "ls2.gamma"] = (dim,)
    norm = "fc_norm" if pool_fc_norm else "norm"
    shapes[norm + ".weight"] = (dim,)
    shapes[norm + ".bias"] = (dim,)
    return shapes


def hf_state(cfg, dinov2, generator):
    """A random state_dict of transformers' ViTModel or Dinov2Model names and shapes for cfg."""
    return randomise({k: torch.zeros(v) for k, v in hf_shapes(cfg, dinov2).items()}, generator)


def hf_shapes(cfg, dinov2):
    """transformers' ViTModel (with pooler) or Dinov2Model parameter names and shapes for cfg."""
    dim, hidden = cfg["hidden_size"], cfg.get("intermediate_size") or int(cfg["hidden_size"] * cfg.get("mlp_ratio", 4))
    grid = cfg["image_size"] // cfg["patch_size"]
    p = cfg["patch_size"]
    shapes = {"embeddings.cls_token": (1, 1, dim), "embeddings.position_embeddings": (1, grid * grid + 1, dim),
              "embeddings.patch_embeddings.projection.weight": (dim, 3, p, p),
              "embeddings.patch_embeddings.projection.bias": (dim,), "layernorm.weight": (dim,), "layernorm.bias": (dim,)}
    if dinov2:
        shapes["embeddings.mask_token"] = (1, dim)
    else:
        shapes["pooler.dense.weight"] = (dim, dim)
        shapes["pooler.dense.bias"] = (dim,)
    for i in range(cfg["num_hidden_layers"]):
        b = f"encoder.layer.{i}."
        for name in ("query", "key", "value"):
            shapes[f"{b}attention.attention.{name}.weight"] = (dim, dim)
            shapes[f"{b}attention.attention.{name}.bias"] = (dim,)
        shapes[b + "attention.output.dense.weight"] = (dim, dim)
        shapes[b + "attention.output.dense.bias"] = (dim,)
        before, after = ("norm1", "norm2") if dinov2 else ("layernorm_before", "layernorm_after")
        for n in (before, after):
            shapes[f"{b}{n}.weight"] = (dim,)
            shapes[f"{b}{n}.bias"] = (dim,)
        fc1, fc2 = ("mlp.fc1", "mlp.fc2") if dinov2 else ("intermediate.dense", "output.dense")
        shapes.update({f"{b}{fc1}.weight": (hidden, dim), f"{b}{fc1}.bias": (hidden,), f"{b}{fc2}.weight": (dim, hidden),
                       f"{b}{fc2}.bias": (dim,)})
        if dinov2:
            shapes[b + "layer_scale1.lambda1"] = (dim,)
            shapes[b + "layer_scale2.lambda1"] = (dim,)
    return shapes


def torchvision_case(generator):
    """torchvision's VisionTransformer (vit_b_16's architecture, small) with its state_dict in timm's names."""
    model = torchvision.models.vision_transformer.VisionTransformer(
        image_size=32, patch_size=8, num_layers=2, num_heads=4, hidden_dim=64, mlp_dim=256)
    model.heads = torch.nn.Identity()
    model.load_state_dict(randomise(model.state_dict(), generator))
    model.eval()
    rename = {"class_token": "cls_token", "conv_proj.weight": "patch_embed.proj.weight",
              "conv_proj.bias": "patch_embed.proj.bias", "encoder.pos_embedding": "pos_embed",
              "encoder.ln.weight": "norm.weight", "encoder.ln.bias": "norm.bias"}
    parts = {"ln_1": "norm1", "ln_2": "norm2", "self_attention.in_proj_weight": "attn.qkv.weight",
             "self_attention.in_proj_bias": "attn.qkv.bias", "self_attention.out_proj": "attn.proj",
             "mlp.0": "mlp.fc1", "mlp.3": "mlp.fc2"}
    state = {}
    for key, value in model.state_dict().items():
        if key in rename:
            state[rename[key]] = value
            continue
        index, rest = key[len("encoder.layers.encoder_layer_"):].split(".", 1)
        for old, new in parts.items():
            if rest.startswith(old):
                rest = new + rest[len(old):]
                break
        state[f"blocks.{index}.{rest}"] = value
    x = torch.rand(3, 3, 32, 32, generator=generator)
    with torch.no_grad():
        y = model(x)
    config = {"architecture": "vit_base_patch16_224",
              "model_args": {"img_size": 32, "patch_size": 8, "embed_dim": 64, "depth": 2, "num_heads": 4,
                             "num_classes": 0},
              "pretrained_cfg": {"input_size": [3, 32, 32], "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5],
                                 "crop_pct": 1.0, "interpolation": "bicubic"}}
    return config, state, x, y


TIMM_CASES = {
    # registers, LayerScale, SwiGLUPacked, no_embed_class, Virchow's token+avg, a 40-px tile on a 32-px embedding.
    "registers_swiglu": ({"img_size": 32, "patch_size": 8, "embed_dim": 96, "depth": 2, "num_heads": 4,
                          "mlp_ratio": 5.3375, "mlp_layer": "swiglu_packed", "act_layer": "silu", "init_values": 1e-5,
                          "reg_tokens": 2, "no_embed_class": True, "global_pool": "", "num_classes": 0}, "token+avg", 40),
    # class and register positions in the embedding, LayerScale, interpolated to a 48-px tile.
    "embed_class_interpolated": ({"img_size": 32, "patch_size": 8, "embed_dim": 64, "depth": 2, "num_heads": 4,
                                  "init_values": 1e-5, "reg_tokens": 1, "num_classes": 0}, "token", 48),
    # avg pooling with fc_norm, no qkv bias, a silu MLP.
    "avg_fc_norm": ({"img_size": 32, "patch_size": 8, "embed_dim": 64, "depth": 2, "num_heads": 2, "qkv_bias": False,
                     "act_layer": "silu", "global_pool": "avg", "num_classes": 0}, "avg", 32),
}

HF_CASES = {
    # transformers ViTModel (Phikon's layout): layernorm_before/after, intermediate/output, eps 1e-12.
    "hf_vit": ({"model_type": "vit", "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
                "intermediate_size": 128, "hidden_act": "gelu", "layer_norm_eps": 1e-12, "image_size": 32,
                "patch_size": 8, "num_channels": 3, "qkv_bias": True}, False, 32),
    # transformers Dinov2Model (Phikon-v2's layout): norm1/2, mlp.fc1/2, layer_scale lambda1, mask_token, interpolated.
    "hf_dinov2": ({"model_type": "dinov2", "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
                   "mlp_ratio": 4, "hidden_act": "gelu", "layer_norm_eps": 1e-6, "image_size": 32, "patch_size": 8,
                   "num_channels": 3, "qkv_bias": True, "layerscale_value": 1.0, "use_swiglu_ffn": False}, True, 40),
}


# The published models' constructor arguments as TRIDENT (trident/patch_encoder_models/load.py) and the model cards
# create them: timm's registry defaults for the model name, then the arguments given.
VIT_L16 = {"img_size": 224, "patch_size": 16, "embed_dim": 1024, "depth": 24, "num_heads": 16}
VIT_H14 = {"img_size": 224, "patch_size": 14, "embed_dim": 1280, "depth": 32, "num_heads": 16}
VIT_G14_DINOV2 = {"img_size": 518, "patch_size": 14, "embed_dim": 1536, "depth": 40, "num_heads": 24, "init_values": 1e-5,
                  "mlp_ratio": 2.66667 * 2, "mlp_layer": "swiglu_packed", "act_layer": "silu"}
VIRCHOW = dict(VIT_H14, init_values=1e-5, mlp_ratio=5.3375, mlp_layer="swiglu_packed", act_layer="silu", global_pool="")
H_OPTIMUS = dict(VIT_G14_DINOV2, reg_tokens=4, no_embed_class=True, img_size=224, global_pool="token")
PRESET_LAYOUTS = {
    "uni": ("timm", dict(VIT_L16, init_values=1e-5)),
    "uni2-h": ("timm", {"img_size": 224, "patch_size": 14, "depth": 24, "num_heads": 24, "init_values": 1e-5,
                        "embed_dim": 1536, "mlp_ratio": 2.66667 * 2, "no_embed_class": True, "mlp_layer": "swiglu_packed",
                        "act_layer": "silu", "reg_tokens": 8}),
    "virchow": ("timm", VIRCHOW),
    "virchow2": ("timm", dict(VIRCHOW, reg_tokens=4)),
    "h-optimus-0": ("timm", H_OPTIMUS),
    "h-optimus-1": ("timm", H_OPTIMUS),
    "prov-gigapath": ("timm", dict(VIT_G14_DINOV2, img_size=224, patch_size=16, mlp_ratio=5.33334)),
    "phikon": ("vit", {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072,
                       "image_size": 224, "patch_size": 16}),
    "phikon-v2": ("dinov2", {"hidden_size": 1024, "num_hidden_layers": 24, "num_attention_heads": 16, "mlp_ratio": 4,
                             "image_size": 224, "patch_size": 16}),
}


def preset_layouts():
    """Each preset's published parameter names and shapes, without weights: from the shapes above for the ViTs and
    from torchvision's own resnet50 for CLAM's truncated ResNet (layer4 and fc are not part of it)."""
    layouts = {}
    for name, (layout, cfg) in PRESET_LAYOUTS.items():
        shapes = timm_shapes(cfg, False) if layout == "timm" else hf_shapes(cfg, layout == "dinov2")
        layouts[name] = {k: list(v) for k, v in shapes.items()}
    resnet = torchvision.models.resnet50().state_dict()
    layouts["resnet50-trunc"] = {k: list(v.shape) for k, v in resnet.items()
                                 if not k.startswith(("layer4.", "fc.")) and not k.endswith("num_batches_tracked")}
    with open(os.path.join(HERE, "preset_layouts.json"), "w") as f:
        json.dump(layouts, f, indent=0, sort_keys=True)
    print("preset_layouts.json:", {name: len(keys) for name, keys in layouts.items()})


def save(name, config, state, x, y):
    folder = os.path.join(HERE, name)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    torch.save({k: v.contiguous() for k, v in state.items()}, os.path.join(folder, "pytorch_model.bin"))
    torch.save({"input": x.contiguous(), "output": y.contiguous()}, os.path.join(folder, "io.pt"))
    print(f"{name}: {sum(v.numel() for v in state.values())} parameters, input {tuple(x.shape)}, output {tuple(y.shape)}")


def main():
    preset_layouts()
    generator = torch.Generator().manual_seed(27)
    save("torchvision_vit", *torchvision_case(generator))
    for name, (args, pool, side) in TIMM_CASES.items():
        state = timm_state(args, args.get("global_pool") == "avg", generator)
        x = torch.rand(3, 3, side, side, generator=generator)
        with torch.no_grad():
            y = timm_reference(state, args, x, pool)
        config = {"architecture": "vit_base_patch16_224", "model_args": args,
                  "pretrained_cfg": {"input_size": [3, side, side], "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5],
                                     "crop_pct": 1.0, "interpolation": "bicubic"}}
        save(name, config, state, x, y)
    for name, (config, dinov2, side) in HF_CASES.items():
        state = hf_state(config, dinov2, generator)
        x = torch.rand(3, 3, side, side, generator=generator)
        with torch.no_grad():
            y = transformers_reference(state, config, x, dinov2)
        save(name, config, state, x, y)


if __name__ == "__main__":
    main()
