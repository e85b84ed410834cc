"""openslide-python's side of `ips bench --parts slide-read`: reads every TILE x TILE tile of level 0 of SLIDE once,
row by row, on THREADS threads (ctypes releases the GIL during OpenSlide's calls, so threads read in parallel), and
prints `IPS_SLIDE_READ <tiles> <seconds>`.

    /usr/bin/python3 bench/slide_read.py SLIDE SIDE TILE THREADS

Needs Debian's python3-openslide (1.2.0 over libopenslide 3.4.1).
"""
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import openslide

path, side, tile, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
corners = [(x, y) for y in range(0, side, tile) for x in range(0, side, tile)]
slide = openslide.OpenSlide(path)


def read(corner):
    # read_region returns the tile as an RGBA PIL image; a byte of it keeps the work from being skipped.
    return slide.read_region(corner, 0, (tile, tile)).getpixel((tile // 2, tile // 2))[0]


start = time.perf_counter()
if threads == 1:
    total = sum(read(c) for c in corners)
else:
    with ThreadPoolExecutor(threads) as pool:
        total = sum(pool.map(read, corners, chunksize=16))
seconds = time.perf_counter() - start
if total == 0:
    sys.exit("every tile read as black; the slide is broken")
print(f"IPS_SLIDE_READ {len(corners)} {seconds:.4f}")
