#!/bin/bash
# Digest every profile under a directory on a Slurm cluster, one job array
# task per shard. Each task takes its share of the profiles (balanced by
# size, no coordination needed), digests them with all the cores Slurm gave
# it, and writes a JSON-lines report of its own.
#
#   sbatch --array=0-15 scripts/slurm-digest.sh /data/profiles
#
# Afterwards `cat reports/digest-*.json` is the whole batch; lines with
# "status": "failed" name the profile and the reason. Rerunning the array
# skips what is already up to date.
#SBATCH --job-name=heapprof-digest
#SBATCH --cpus-per-task=16
#SBATCH --mem=4G
#SBATCH --time=04:00:00
#SBATCH --output=reports/digest-%A_%a.log
set -euo pipefail
DIR=${1:?usage: sbatch --array=0-N scripts/slurm-digest.sh DIRECTORY}
HEAPPROF=${HEAPPROF:-heapprof}
mkdir -p reports
exec "$HEAPPROF" digest -q -r --keep-going --skip-up-to-date \
    -j "${SLURM_CPUS_PER_TASK:-$(nproc)}" \
    --shard "${SLURM_ARRAY_TASK_ID}/${SLURM_ARRAY_TASK_COUNT}" \
    --report "reports/digest-${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}.json" \
    "$DIR"
