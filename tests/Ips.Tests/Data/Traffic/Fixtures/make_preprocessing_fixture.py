"""Makes the golden files of TrafficPreprocessingTests with the official traffic-sign test-time transform.

Run with Debian's python3-torch / python3-torchvision (torch 1.13, torchvision 0.14):
    /usr/bin/python3 make_preprocessing_fixture.py
It writes two RGB photos as PNG (lossless, so both sides decode the same pixels) and, for each, the output of
transforms.Resize([H, W]) on the PIL image, ToTensor and Normalize(ImageNet mean, std), as a float32 .npy of shape
[3 * rows, cols] (the channels stacked), where rows x cols are the output pixels kept: every 40th pixel of the
1200 x 1600 upscale (from row 7, column 11), all pixels of the 60 x 80 downscale.
"""
import numpy as np
import torch
import torchvision
from PIL import Image
from torchvision import transforms

CASES = [
    # name, photo height, photo width, output height, output width, step, row offset, column offset
    ("up", 96, 128, 1200, 1600, 40, 7, 11),
    ("down", 150, 203, 60, 80, 1, 0, 0),
]


def photo(height, width, seed):
    """A photo-like RGB image: gradients, a few hard-edged shapes and sensor noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    r = 255 * (0.2 + 0.6 * x / width)
    g = 255 * (0.3 + 0.5 * np.sin(y / height * 3.0) ** 2)
    b = 255 * (0.5 + 0.4 * np.cos((x + y) / (width + height) * 6.0))
    image = np.stack([r, g, b], axis=-1)
    for _ in range(4):
        cy, cx, radius = rng.integers(0, height), rng.integers(0, width), rng.integers(3, max(4, height // 5))
        mask = (y - cy) ** 2 + (x - cx) ** 2 < radius ** 2
        image[mask] = rng.integers(0, 256, size=3)
    image += rng.normal(0, 6, size=image.shape)
    return Image.fromarray(np.clip(np.round(image), 0, 255).astype(np.uint8), mode="RGB")


def main():
    print("torch", torch.__version__, "torchvision", torchvision.__version__)
    for seed, (name, h, w, out_h, out_w, step, oy, ox) in enumerate(CASES):
        image = photo(h, w, seed)
        image.save(f"photo-{name}.png")
        transform = transforms.Compose([
            transforms.Resize([out_h, out_w]),
            transforms.ToTensor(),
            transforms.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]),
        ])
        reloaded = Image.open(f"photo-{name}.png").convert("RGB")
        out = transform(reloaded)[:, oy::step, ox::step].contiguous()
        np.save(f"expected-{name}.npy", out.numpy().astype(np.float32).reshape(3 * out.shape[1], out.shape[2]))
        print(name, tuple(out.shape))


if __name__ == "__main__":
    main()
