"""Golden pixels for MagnificationTilingTests: level 1 (0.5 um/px) of the generated 0.25 um/px slide, as
openslide-python reads it.

Run make_mpp_golden.sh, which writes the slide (write_mpp_slide.cs) and calls this script with Debian's
python3-openslide (1.2.0 over libopenslide 3.4.1):  python3 make_mpp_golden.py SLIDE.tif FIXTURE_DIR
Writes mpp-level1.png (the whole of level 1, RGB) and mpp-golden.json (the slide's SHA-256, so the test knows it
generated the same file, its levels and the pixel size of the PNG).
"""
import hashlib
import json
import sys

import openslide

slide_path, out = sys.argv[1], sys.argv[2]
slide = openslide.OpenSlide(slide_path)
width, height = slide.level_dimensions[1]
# read_region gives RGBA composed of premultiplied pixels; the slide is opaque, so RGB is the pixels themselves.
slide.read_region((0, 0), 1, (width, height)).convert("RGB").save(f"{out}/mpp-level1.png", optimize=True)
with open(slide_path, "rb") as f:
    sha256 = hashlib.sha256(f.read()).hexdigest()
golden = {
    "slide_sha256": sha256,
    "level_dimensions": [list(d) for d in slide.level_dimensions],
    "level_downsamples": list(slide.level_downsamples),
    "openslide_python": openslide.__version__,
    "openslide_library": openslide.__library_version__,
}
with open(f"{out}/mpp-golden.json", "w") as f:
    json.dump(golden, f, indent=2)
    f.write("\n")
