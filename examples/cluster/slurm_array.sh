#!/bin/bash
# One langevin ensemble over a Slurm job array: task I of N runs the trajectories
# [I T / N, (I + 1) T / N) (whole blocks of 64) with their indices in the whole run, so the
# merged result equals one big run's (counts exactly, moments to 1e-12).
#
#   CONFIG=examples/configs/double_well.toml OUT=runs/dw sbatch --array=0-15 slurm_array.sh
#   sbatch --dependency=afterok:<job id> --wrap "langevin merge runs/dw/shard-* --out runs/dw/merged"
#
# Extra arguments go to `langevin run` (e.g. --trajectories 1000000000). LANGEVIN names the
# executable (default: langevin on PATH).
#SBATCH --job-name=langevin
#SBATCH --gres=gpu:1
#SBATCH --time=10:00:00
set -euo pipefail
: "${CONFIG:?set CONFIG to the config file}"
: "${SLURM_ARRAY_TASK_ID:?submit with sbatch --array}"
: "${SLURM_ARRAY_TASK_COUNT:?submit with sbatch --array}"
OUT=${OUT:-runs/shards}
# Array indices need not start at 0 (--array=1-16): count from the first.
I=$((SLURM_ARRAY_TASK_ID - ${SLURM_ARRAY_TASK_MIN:-0}))
N=$SLURM_ARRAY_TASK_COUNT
exec "${LANGEVIN:-langevin}" run "$CONFIG" --shard "$I/$N" --out "$OUT/shard-$I-of-$N" --quiet "$@"
