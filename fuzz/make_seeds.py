#!/usr/bin/python3
"""Seeds made by tools independent of ips: h5py (CLAM/TRIDENT and official IPS layouts), NumPy, PyTorch's
torch.save, Pillow and libvips, plus text files typed as the tools that make them write them (ASAP XML, the
Swedish traffic signs annotations). Used by fuzz/make-seeds; Debian packages: python3-h5py python3-torch
python3-pil libvips-tools.

usage: make_seeds.py SEEDS_DIR
"""
import io
import json
import os
import struct
import subprocess
import sys
import zipfile

import h5py
import numpy as np
import torch
from PIL import Image

root = sys.argv[1]
rng = np.random.default_rng(0)


def seed(target, name):
    os.makedirs(os.path.join(root, target), exist_ok=True)
    return os.path.join(root, target, name)


# CLAM's create_patches_fped.py: 'coords' int64 [n, 2] with the patching parameters as attributes.
with h5py.File(seed("coords-h5", "clam.h5"), "w") as f:
    coords = f.create_dataset("coords", data=np.array([[0, 0], [256, 0], [0, 256]], dtype=np.int64))
    coords.attrs["patch_level"] = 0
    coords.attrs["patch_size"] = 256
# TRIDENT stores int32 coordinates and the tissue fraction beside them.
with h5py.File(seed("coords-h5", "trident.h5"), "w") as f:
    coords = f.create_dataset("coords", data=np.array([[512, 0], [512, 512]], dtype=np.int32))
    coords.attrs["patch_size"] = 512
    coords.attrs["patch_level"] = 1
    f.create_dataset("tissue_fraction", data=np.array([0.5, 1.0], dtype=np.float32))

# CLAM's extract_features_fp.py: 'features' float32 [n, d] and 'coords' [n, 2], chunked and compressed.
with h5py.File(seed("features-h5", "clam.h5"), "w") as f:
    f.create_dataset("features", data=rng.standard_normal((5, 3)).astype(np.float32), chunks=(2, 3), compression="gzip")
    f.create_dataset("coords", data=np.arange(10, dtype=np.int64).reshape(5, 2) * 256)

# The official IPS split file: one group per slide with 'img', 'pos' and the 'label' attribute.
with h5py.File(seed("split-h5", "official.hdf5"), "w") as f:
    for name, label, n in (("tumor_002", 1, 3), ("normal_002", 0, 2)):
        group = f.create_group(name)
        group.create_dataset("img", data=rng.standard_normal((n, 4)).astype(np.float32))
        group.create_dataset("pos", data=np.arange(2 * n, dtype=np.int64).reshape(n, 2))
        group.attrs["label"] = label

# HDF5 structures beyond the smallest files, which the structure check (ips's Hdf5Structure) walks before PureHDF
# reads: CLAM's extendible 'features' (maxshape) with variable-length string attributes in a global heap, an
# object header grown by continuation blocks, a 512-byte user block, the scale-offset filter, 4-byte addresses and
# lengths, and the 'latest' format: fixed-array and extensible-array chunk indexes with filtered chunks (read),
# dense link storage and the version-2 B-tree chunk index of two unlimited dimensions (both refused with the way to
# rewrite the file); a variable-length string inside a compound attribute (refused); and 'features' kept in an external
# raw file (refused); soft links, one resolving and two that resolve to each other (refused).
with h5py.File(seed("features-h5", "clam-extendible.h5"), "w") as f:
    f.create_dataset("features", data=rng.standard_normal((12, 4)).astype(np.float32), chunks=(4, 4), maxshape=(None, 4))
    f.create_dataset("coords", data=np.arange(24, dtype=np.int64).reshape(12, 2) * 256)
    f.attrs["slide"] = "slide-1.svs"
    f.attrs["names"] = np.array([b"a", b"bb"], dtype=h5py.special_dtype(vlen=bytes))
with h5py.File(seed("features-h5", "continued-header.h5"), "w") as f:
    f.create_dataset("features", data=rng.standard_normal((3, 2)).astype(np.float32))
    f.create_dataset("coords", data=np.zeros((3, 2), dtype=np.int64))
    for i in range(12):
        f.attrs[f"note{i:02d}"] = "x" * (8 * i)
with h5py.File(seed("features-h5", "user-block.h5"), "w", userblock_size=512) as f:
    f.create_dataset("features", data=rng.standard_normal((3, 2)).astype(np.float32))
    f.create_dataset("coords", data=np.zeros((3, 2), dtype=np.int64))
with h5py.File(seed("features-h5", "latest-filtered.h5"), "w", libver="latest") as f:
    f.create_dataset("features", data=rng.standard_normal((9, 4)).astype(np.float32), chunks=(3, 4), compression="gzip")
    f.create_dataset("coords", data=np.zeros((9, 2), dtype=np.int64))
with h5py.File(seed("features-h5", "latest-extendible.h5"), "w", libver="latest") as f:
    f.create_dataset("features", data=rng.standard_normal((6, 4)).astype(np.float32), chunks=(3, 4), maxshape=(None, 4))
    f.create_dataset("coords", data=np.zeros((6, 2), dtype=np.int64))
# Large enough that the extensible array holds chunk addresses in its index block, in data blocks the index block
# points to, and in secondary blocks (from the 245th chunk on, with HDF5's defaults); gzip makes coords' entries
# carry each chunk's stored size. Values from arange, not rng, so the seeds after these stay as they were.
with h5py.File(seed("features-h5", "latest-extendible-300.h5"), "w", libver="latest") as f:
    f.create_dataset("features", data=np.arange(600, dtype=np.float32).reshape(300, 2) / 4, chunks=(1, 2), maxshape=(None, 2))
    f.create_dataset("coords", data=np.arange(600, dtype=np.int64).reshape(300, 2) * 256, chunks=(1, 2), maxshape=(None, 2), compression="gzip")
with h5py.File(seed("features-h5", "latest-two-unlimited.h5"), "w", libver="latest") as f:
    f.create_dataset("features", data=np.arange(8, dtype=np.float32).reshape(4, 2), chunks=(2, 2), maxshape=(None, None))
    f.create_dataset("coords", data=np.zeros((4, 2), dtype=np.int64))
# A compound attribute with a variable-length string member (its heap references sit inside each element; refused).
with h5py.File(seed("features-h5", "compound-vlen-attribute.h5"), "w") as f:
    f.create_dataset("features", data=np.arange(6, dtype=np.float32).reshape(3, 2))
    f.create_dataset("coords", data=np.zeros((3, 2), dtype=np.int64))
    member = np.dtype([("name", h5py.string_dtype()), ("mpp", np.float32)])
    f.attrs.create("slide", np.array([("slide-1.svs", 0.25)], dtype=member))
# HDF5's shuffle filter alone (so the stored chunk is the values' bytes, grouped by byte position).
with h5py.File(seed("features-h5", "shuffle.h5"), "w") as f:
    f.create_dataset("features", data=np.arange(12, dtype=np.float32).reshape(3, 4) + 0.5, chunks=(3, 4), shuffle=True)
    f.create_dataset("coords", data=np.zeros((3, 2), dtype=np.int64))
with h5py.File(seed("features-h5", "scale-offset.h5"), "w") as f:
    f.create_dataset("features", data=rng.standard_normal((6, 4)).astype(np.float32), chunks=(3, 4), scaleoffset=3)
    f.create_dataset("coords", data=np.arange(12, dtype=np.int64).reshape(6, 2) * 256, chunks=(3, 2), scaleoffset=0)
with h5py.File(seed("features-h5", "external-raw-file.h5"), "w") as f:
    f.create_dataset("features", shape=(3, 2), dtype="<f4", external=[("/etc/passwd", 0, h5py.h5f.UNLIMITED)])
    f.create_dataset("coords", data=np.zeros((3, 2), dtype=np.int64))
small_addresses = h5py.h5p.create(h5py.h5p.FILE_CREATE)
small_addresses.set_sizes(4, 4)
with h5py.File(h5py.h5f.create(seed("features-h5", "offsets-4-bytes.h5").encode(), fcpl=small_addresses)) as f:
    f.create_dataset("features", data=rng.standard_normal((5, 3)).astype(np.float32), chunks=(2, 3), compression="gzip")
    f.create_dataset("coords", data=np.zeros((5, 2), dtype=np.int64))
    f.attrs["slide"] = "slide-1.svs"
with h5py.File(seed("coords-h5", "soft-link.h5"), "w") as f:
    f.create_dataset("tiles", data=np.array([[0, 0], [256, 0]], dtype=np.int64))
    f["tiles"].attrs["patch_size"] = 256
    f["tiles"].attrs["patch_level"] = 0
    f["coords"] = h5py.SoftLink("/tiles")
with h5py.File(seed("split-h5", "soft-link-loop.hdf5"), "w") as f:
    group = f.create_group("slide_0")
    group.attrs["label"] = 1
    group["img"] = h5py.SoftLink("/slide_0/pos")
    group["pos"] = h5py.SoftLink("img")
with h5py.File(seed("split-h5", "latest-dense-links.hdf5"), "w", libver="latest") as f:
    for s in range(9):
        group = f.create_group(f"slide_{s}")
        group.create_dataset("img", data=rng.standard_normal((1, 2)).astype(np.float32))
        group.create_dataset("pos", data=np.zeros((1, 2), dtype=np.int64))
        group.attrs["label"] = s % 2

np.save(seed("npy", "numpy.npy"), rng.standard_normal((4, 3)).astype(np.float32))
np.save(seed("npy", "fortran.npy"), np.asfortranarray(rng.standard_normal((3, 2)).astype(np.float32)))

# torch.save's zip layout (archive/data.pkl, archive/data/0, ...), the format of torchvision and hub weights.
torch.manual_seed(0)
torch.save({"fc.weight": torch.randn(2, 3), "fc.bias": torch.zeros(2), "bn.num_batches_tracked": torch.tensor(5)},
           seed("state-dict", "torch.pt"))

# A BYOL checkpoint's entries (ips pretrain byol writes encoder.pt, target.pt and state.json into a zip); the weights
# are a small state_dict, so the reader goes through the zip, the JSON and the pickle before it compares shapes.
weights = io.BytesIO()
torch.save({"conv1.weight": torch.randn(2, 3, 1, 1)}, weights)
state = {"backbone": "resnet18", "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225], "step": 3}
with zipfile.ZipFile(seed("byol-ckpt", "byol.ckpt"), "w") as z:
    z.writestr("encoder.pt", weights.getvalue())
    z.writestr("target.pt", weights.getvalue())
    z.writestr("state.json", json.dumps(state))

# safetensors as the format's specification lays it out: u64 header length, JSON header, raw little-endian data.
data = rng.standard_normal((3, 2)).astype("<f4").tobytes()
header = json.dumps({"__metadata__": {"format": "pt"},
                     "feats": {"dtype": "F32", "shape": [3, 2], "data_offsets": [0, len(data)]}}).encode()
with open(seed("safetensors", "spec.safetensors"), "wb") as out:
    out.write(struct.pack("<Q", len(header)) + header + data)

# MNIST IDX: magic 0x00000803, count, rows, cols, then the pixels.
with open(seed("mnist-idx", "train-images-idx3-ubyte"), "wb") as out:
    out.write(struct.pack(">IIII", 0x803, 2, 4, 4) + bytes(range(32)))

# Images from Pillow: RGB, grey, palette and RGBA PNGs; baseline and progressive JPEGs; striped TIFFs.
pixels = (rng.random((12, 16, 3)) * 255).astype(np.uint8)
rgb = Image.fromarray(pixels, "RGB")
rgb.save(seed("png", "rgb.png"))
rgb.convert("L").save(seed("png", "grey.png"))
rgb.convert("P").save(seed("png", "palette.png"))
rgb.convert("RGBA").save(seed("png", "rgba.png"))
rgb.save(seed("jpeg", "baseline.jpg"), quality=50)
rgb.convert("L").save(seed("jpeg", "progressive.jpg"), quality=50, progressive=True)
rgb.save(seed("tiff-image", "lzw.tif"), compression="tiff_lzw")
rgb.convert("L").save(seed("tiff-image", "grey.tif"))

# A pyramidal tiled slide from libvips, the converter many groups use for their slides.
rgb.resize((320, 240)).save(seed("tiff-slide", "vips-source.png"))
subprocess.run(["vips", "tiffsave", seed("tiff-slide", "vips-source.png"), seed("tiff-slide", "vips.tif"),
                "--tile", "--pyramid", "--tile-width", "128", "--tile-height", "128", "--compression", "jpeg", "--Q", "30"],
               check=True)
os.remove(seed("tiff-slide", "vips-source.png"))

with open(seed("asap-xml", "asap.xml"), "w") as out:
    out.write('<?xml version="1.0"?>\n<ASAP_Annotations>\n\t<Annotations>\n'
              '\t\t<Annotation Name="_0" Type="Polygon" PartOfGroup="_0" Color="#F4FA58">\n\t\t\t<Coordinates>\n'
              '\t\t\t\t<Coordinate Order="0" X="1.2e3" Y="800" />\n\t\t\t\t<Coordinate Order="1" X="1300" Y="820.5" />\n'
              '\t\t\t\t<Coordinate Order="2" X="1250" Y="900" />\n\t\t\t</Coordinates>\n\t\t</Annotation>\n'
              '\t\t<Annotation Name="_2" Type="Polygon" PartOfGroup="_2" Color="#64FE2E">\n\t\t\t<Coordinates>\n'
              '\t\t\t\t<Coordinate Order="0" X="10" Y="10" />\n\t\t\t\t<Coordinate Order="1" X="20" Y="10" />\n'
              '\t\t\t\t<Coordinate Order="2" X="15" Y="20" />\n\t\t\t</Coordinates>\n\t\t</Annotation>\n'
              '\t</Annotations>\n\t<AnnotationGroups>\n\t\t<Group Name="_0" PartOfGroup="None" Color="#00ff00">\n'
              '\t\t\t<Attributes />\n\t\t</Group>\n\t</AnnotationGroups>\n</ASAP_Annotations>\n')

with open(seed("sts", "annotations.txt"), "w") as out:
    out.write("1277381573Image000002.jpg:VISIBLE, 836.84, 571.57, 810.35, 545.09, PROHIBITORY, 70_SIGN;"
              "BLURRED, 1030.5, 600.1, 1001.2, 570, OTHER, OTHER;\n"
              "1277381574Image000005.jpg:\n"
              "1277381575Image000009.jpg:MISC_SIGNS;SIDE_ROAD, 50, 60, 10, 20, PROHIBITORY, 50_SIGN\n")

with open(seed("labels-csv", "camelyon16.csv"), "w") as out:
    out.write("slide_id,label\ntest_001,1\ntest_002,0\n")
