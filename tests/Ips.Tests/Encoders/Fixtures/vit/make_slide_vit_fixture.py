"""Makes the golden fixture of VitFeaturesAtResolutionTests: a small random timm vision transformer in the Hugging Face
hub layout whose pretrained_cfg normalises with H-optimus' (non-ImageNet) mean and std, and the features the reference
of make_vit_fixtures.py computes for the four 224-pixel tiles of the 0.5 um/px level of the generated 0.25 um/px slide,
as openslide-python read that level (tests/Ips.Tests/Slides/Fixtures/mpp-level1.png, made by make_mpp_golden.sh).

Run with Debian's python3-torch (1.13) and python3-pil, from this folder:
    /usr/bin/python3 make_slide_vit_fixture.py
Writes slide_0_5um/config.json, slide_0_5um/pytorch_model.bin and slide_0_5um/io.pt ("coords": the tiles' level-0
top-left corners [4, 2] int64, "output": their features [4, 64]).
"""
import json
import os

import numpy
import torch
from PIL import Image

from make_vit_fixtures import HERE, timm_reference, timm_state

LEVEL1 = os.path.join(HERE, "..", "..", "..", "Slides", "Fixtures", "mpp-level1.png")
TILE = 224
# Level 1 has half the level-0 resolution: a tile at (x, y) of level 1 starts at (2x, 2y) of level 0.
DOWNSAMPLE = 2
MEAN = [0.707223, 0.578729, 0.703617]
STD = [0.211883, 0.230117, 0.177517]
# H-optimus' layout at a small size: registers, LayerScale, no_embed_class, class-token pooling, 224-px tiles.
ARGS = {"img_size": 224, "patch_size": 16, "embed_dim": 64, "depth": 2, "num_heads": 4, "init_values": 1e-5,
        "reg_tokens": 4, "no_embed_class": True, "global_pool": "token", "num_classes": 0}


def main():
    level1 = numpy.asarray(Image.open(LEVEL1).convert("RGB"))
    height, width, _ = level1.shape
    corners = [(x, y) for y in range(0, height, TILE) for x in range(0, width, TILE)]
    tiles = torch.stack([torch.from_numpy(level1[y:y + TILE, x:x + TILE].copy()).permute(2, 0, 1) for x, y in corners])
    x = (tiles.float() / 255 - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)

    generator = torch.Generator().manual_seed(2027)
    state = timm_state(ARGS, False, generator)
    with torch.no_grad():
        y = timm_reference(state, ARGS, x, "token")

    folder = os.path.join(HERE, "slide_0_5um")
    os.makedirs(folder, exist_ok=True)
    config = {"architecture": "vit_small_patch16_224", "model_args": ARGS,
              "pretrained_cfg": {"input_size": [3, TILE, TILE], "mean": MEAN, "std": STD, "crop_pct": 1.0,
                                 "interpolation": "bicubic"}}
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    torch.save({k: v.contiguous() for k, v in state.items()}, os.path.join(folder, "pytorch_model.bin"))
    coords = torch.tensor([[cx * DOWNSAMPLE, cy * DOWNSAMPLE] for cx, cy in corners], dtype=torch.int64)
    torch.save({"coords": coords, "output": y.contiguous()}, os.path.join(folder, "io.pt"))
    print(f"slide_0_5um: {sum(v.numel() for v in state.values())} parameters, tiles {coords.tolist()}, output {tuple(y.shape)}")


if __name__ == "__main__":
    main()
