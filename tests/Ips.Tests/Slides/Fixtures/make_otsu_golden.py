#!/usr/bin/python3
"""Golden Otsu thresholds for tests/Ips.Tests/Slides/OtsuTests.cs, computed once with scikit-image.

Run with Debian's python3 and python3-skimage (0.19):  /usr/bin/python3 make_otsu_golden.py > otsu-golden.json

scikit-image's threshold_otsu(hist=(counts, bin_centres)) is the reference the official IPS CAMELYON16 code copies
(its _otsu_by_hist). Cases:
  - histograms over the 511 stain-aware grey levels k / 3 (k = 0 .. 510), including empty bins at the ends and inside;
  - an RGB image given by an integer formula (repeated in the C# test): its grey level R + B - (R + G + B) / 1.5,
    clipped to [0, 255], computed in float64 and histogrammed over its distinct values with np.unique, as the
    official get_otsu_threshold does.
"""
import json

import numpy as np
from skimage.filters import threshold_otsu

CENTRES = np.arange(511) / 3.0


def histogram_case(name, counts):
    counts = np.asarray(counts, dtype=np.int64)
    threshold = float(threshold_otsu(hist=(counts.astype(float), CENTRES)))
    return {"name": name, "counts": counts.tolist(), "threshold": threshold}


def image(width=97, height=61):
    """The formula of OtsuTests.GoldenImage: a stained disc with texture on textured glass."""
    rgb = np.zeros((height, width, 3), dtype=np.uint8)
    for y in range(height):
        for x in range(width):
            n = (x * 31 + y * 17 + x * y) % 23
            if (x - 40) ** 2 + (y - 30) ** 2 < 400:
                rgb[y, x] = (200 - n, 120 + n, 190 - (2 * n) % 29)
            else:
                rgb[y, x] = (235 + n % 7, 233 + n % 5, 238 + n % 9)
    return rgb


def image_case():
    rgb = image().astype(np.float64)
    grey = rgb[:, :, 0] + rgb[:, :, 2] - (rgb[:, :, 0] + rgb[:, :, 1] + rgb[:, :, 2]) / 1.5
    grey = np.clip(grey, 0, 255)
    values, counts = np.unique(grey, return_counts=True)
    threshold = float(threshold_otsu(hist=(counts.astype(float), values)))
    return {"name": "image-97x61", "width": 97, "height": 61, "threshold": threshold}


def main():
    rng = np.random.default_rng(0)
    sparse = rng.integers(0, 1000, size=511)
    sparse[rng.random(511) < 0.4] = 0
    sparse[:20] = 0
    sparse[-30:] = 0

    levels = np.arange(511)
    mixture = (5e5 * np.exp(-0.5 * ((levels - 15) / 6.0) ** 2)
               + 6e4 * np.exp(-0.5 * ((levels - 140) / 35.0) ** 2)).astype(np.int64)

    two = np.zeros(511, dtype=np.int64)
    two[10], two[200] = 7, 3

    skewed = np.zeros(511, dtype=np.int64)
    skewed[0] = 10 ** 9
    skewed[1:300] = rng.integers(0, 50, size=299)

    cases = [
        histogram_case("sparse-random", sparse),
        histogram_case("background-and-tissue-mixture", mixture),
        histogram_case("two-bins", two),
        histogram_case("mostly-glass", skewed),
    ]
    print(json.dumps({"histograms": cases, "images": [image_case()]}))


if __name__ == "__main__":
    main()
