#!/usr/bin/env bash
# Regenerates mpp-level1.png and mpp-golden.json: writes the generated slide with the library (a .NET file-based app)
# and reads it with openslide-python (sudo apt-get install -y python3-openslide).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
dotnet run "$here/write_mpp_slide.cs" -- "$scratch/slide.tif"
/usr/bin/python3 "$here/make_mpp_golden.py" "$scratch/slide.tif" "$here"
