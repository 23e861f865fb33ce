#!/bin/bash
# The runs behind reports/holdout_redraw and reports/paired_seeds, in the order they ran (most
# informative first, whole seed pairs at a time, so that a stopped run leaves usable pairs).
# Run from the repository root; one single-threaded worker (the CPU was shared).
set -e
export PYTHONPATH=$PWD/src OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
PY=${PY:-python}
G="benchmarks/mammography_grid.py --mirror ${MIRROR:-../shared/data} --workers 1"
$PY $G --methods gradcon a3 deepsad devnet ae --rng original --out reports/paired_seeds/runs.jsonl
for s in 110 210 310 410 510; do
  $PY $G --methods r2ad2 --seeds $s --rng original --out reports/holdout_redraw/runs.jsonl
  $PY $G --methods r2ad2 --seeds $s --rng original --option holdout_redraw=true --out reports/holdout_redraw/runs.jsonl
done
for s in 110 210 310 410 510; do
  $PY $G --methods r2ad2 --seeds $s --option holdout_redraw=true --out reports/holdout_redraw/runs.jsonl
  $PY $G --methods r2ad2 --seeds $s --out reports/holdout_redraw/runs.jsonl
done
python benchmarks/holdout_redraw.py
