#!/usr/bin/env bash
# Your own images, no code (docs/own-data.md): a generated inspection-like set (large photos of a metal surface, a
# small dark scratch in class `defect`), a config drafted from the data, training, evaluation per class, prediction.
# Usage: examples/own-images/run.sh [WORK_DIR]   (default: a fresh folder under /tmp)
set -euo pipefail
cd "$(dirname "$0")/../.."
IPS=./ips
WORK=${1:-$(mktemp -d /tmp/ips-own-images.XXXXXX)}
mkdir -p "$WORK"

# 1. The data: 40 training and 20 test photos per class, about 1024 px on the longer side, each its own size.
$IPS data inspection "$WORK/data" --train 40 --test 20 --size 1024 --defect 48

# 2. A commented config drafted from the data: classes, patch size, M, I, B, encoder (ImageNet resnet18).
$IPS config init "$WORK/data" --out "$WORK/my.yml"

# 3. Training (the data is checked first; bad images are refused, or left out with --skip-bad).
$IPS train -c "$WORK/my.yml" --run-dir "$WORK/run" --set n_epoch=10 --set n_epoch_warmup=1 --set lr=0.001

# 4. Per-class accuracy, balanced accuracy and the confusion matrix by class name.
$IPS evaluate -c "$WORK/run/config.yml" -w "$WORK/run/best-model.pt" --out "$WORK/scores.json"

# 5. The class name and its probability for two test photos, with attention pictures.
$IPS predict -c "$WORK/run/config.yml" -w "$WORK/run/best-model.pt" \
    "$WORK"/data/test/defect/defect_000.png "$WORK"/data/test/ok/ok_000.png \
    --out "$WORK/predictions.json" --attention-dir "$WORK/attention"
echo "results in $WORK"
