#!/bin/bash
# Submits a whole cohort to Slurm: the tiling array, the feature array once tiling is done, then pack + train, then
# the prediction array with the trained weights, each step waiting on the last with --dependency=afterok.
#   examples/slurm/submit.sh COHORT OUT TASKS ENCODER CONFIG LABELS
# COHORT: folder of slides; OUT: output folder on shared storage; TASKS: tasks per array; ENCODER: byol.ckpt or a
# torchvision .pth; CONFIG: an IPS feature config (configs/camelyon.yml); LABELS: CSV slide_id,label,split.
# Logs go to OUT/logs. See docs/cluster.md.
set -euo pipefail
if [ $# -ne 6 ]; then
  echo "usage: $0 COHORT OUT TASKS ENCODER CONFIG LABELS" >&2
  exit 64
fi
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cohort="$(realpath "$1")" out="$(realpath -m "$2")" tasks="$3" encoder="$(realpath "$4")" config="$(realpath "$5")" labels="$(realpath "$6")"
mkdir -p "$out/logs"
logs=(--output "$out/logs/%x-%A_%a.out")
tile=$(sbatch --parsable "${logs[@]}" --array=0-$((tasks - 1)) "$here/tile.sbatch" "$cohort" "$out")
features=$(sbatch --parsable "${logs[@]}" --array=0-$((tasks - 1)) --dependency=afterok:"$tile" \
  "$here/features.sbatch" "$cohort" "$out" "$encoder")
train=$(sbatch --parsable --output "$out/logs/%x-%j.out" --dependency=afterok:"$features" "$here/train.sbatch" "$out" "$config" "$labels")
predict=$(sbatch --parsable "${logs[@]}" --array=0-$((tasks - 1)) --dependency=afterok:"$train" \
  "$here/predict.sbatch" "$out" "$config" "$out/ips/last.ckpt")
echo "submitted: tile $tile, features $features, train $train, predict $predict"
echo "progress: ips slides status $out/tiles $out/features --slides $cohort"
