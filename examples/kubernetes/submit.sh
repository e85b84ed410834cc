#!/bin/bash
# Starts the tiling Indexed Job (tile-job.yaml) for a cohort: COHORT and OUT are paths inside the shared volume, which
# the pods mount at /data; TASKS is the number of pods. Follow it with: ips slides status /data/OUT/tiles (docs/cluster.md).
#   examples/kubernetes/submit.sh COHORT OUT TASKS
set -euo pipefail
if [ $# -ne 3 ]; then
  echo "usage: $0 COHORT OUT TASKS   (COHORT and OUT relative to the volume mounted at /data)" >&2
  exit 64
fi
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
sed -e "s|/data/COHORT|/data/$1|; s|/data/OUT|/data/$2|; s|TASKS|$3|g" "$here/tile-job.yaml" | kubectl apply -f -
