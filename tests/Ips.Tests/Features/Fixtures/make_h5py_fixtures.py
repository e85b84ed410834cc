#!/usr/bin/python3
"""Writes the small HDF5 fixtures that Hdf5FeatureSourceTests reads, with h5py (the library the official IPS
extraction, CLAM and TRIDENT write with), so the tests check interoperability with real h5py output.

Run with Debian's python3 and python3-h5py:  /usr/bin/python3 make_h5py_fixtures.py
Values follow a formula the tests recompute: row i, column j of a slide with offset o holds o + i + j / 10.
"""
import os

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def matrix(rows, cols, offset):
    i, j = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
    return (offset + i + j / 10.0).astype(np.float32)


# Official IPS layout: one group per slide with img, pos and the label attribute, gzip level 9 as in extract_feat.py.
with h5py.File(os.path.join(HERE, "official_h5py.hdf5"), "w") as f:
    for name, rows, label, offset in [("tumor_001", 7, 1, 100), ("normal_002", 5, 0, 200)]:
        group = f.create_group(name)
        group.create_dataset("img", data=matrix(rows, 4, offset), compression="gzip", compression_opts=9)
        group.create_dataset("pos", data=np.arange(rows, dtype=np.int64), compression="gzip", compression_opts=9)
        group.attrs["label"] = np.int64(label)

# CLAM per-slide layout: features [N, D] float32 and coords [N, 2] int64 with CLAM's attributes on coords.
with h5py.File(os.path.join(HERE, "clam_h5py.h5"), "w") as f:
    f.create_dataset("features", data=matrix(6, 4, 300))
    coords = f.create_dataset("coords", data=np.array([[256 * i, 512] for i in range(6)], dtype=np.int64))
    coords.attrs["patch_size"] = 256
    coords.attrs["patch_level"] = 0
