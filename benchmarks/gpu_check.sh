#!/usr/bin/env bash
# GPU check: everything a first CUDA machine (H100/H200, 16 cores) should show, in under 8 minutes,
# ending in one summary (Markdown) under reports/gpu_check/<UTC time>/summary.md (path printed).
#
#   bash benchmarks/gpu_check.sh           run every step on the GPU
#   bash benchmarks/gpu_check.sh --plan    on any machine (CI): check that every command exists and
#                                          parses, print the plan and the time budget per step; exit
#                                          non-zero if something is missing
#   bash benchmarks/gpu_check.sh --only workflow,pytest    run only these steps
#
# Steps, each under a hard time limit (`timeout`), so the whole cannot overrun:
#   pytest        python -m pytest -m gpu (tests/gpu: R2-AD2 tf32/bf16 vs CPU fp32, per-sample
#                 gradients, placement of every method, precision switching, the feature cache)
#   alarm-tf32    benchmarks/alarm_training.py --device cuda at tf32: samples/s, TFLOP/s and the share
#   alarm-bf16    of the device's dense bf16/TF32 peak (target: >= 25 % of bf16 peak at bf16)
#   gradients     benchmarks/gradients.py --device cuda (per-sample gradients, k = 3, the fp16 cache)
#   workflow      the nsl_kdd_20 known cell at the papers' epochs for R2-AD2, DevNet, A3 (A3v2) and
#                 AE, seed 110, through Snakemake with `--resources gpu=4` (four jobs share the GPU),
#                 config/gpu-check.yaml; the mirror from $ALARMBENCH_MIRROR, else ../shared/data,
#                 else shared/data
#
# Needs the package installed with a CUDA build of torch (`pip install -e .[test]`).
# Environment: PYTHON (default .venv/bin/python, else python3), GPU_CHECK_OUT (output folder),
# GPU_CHECK_DEVICE (default cuda; `cpu` runs the same steps on a CPU, to try the script itself:
# the workflow step then runs out of time, as it should there), GPU_CHECK_CORES (the workflow's
# --cores, default 16). The script puts its own src/ first on PYTHONPATH, so it checks the tree it
# is in.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 2
export PYTHONPATH="$ROOT/src${PYTHONPATH:+:$PYTHONPATH}"
if [[ -z "${PYTHON:-}" ]]; then
  if [[ -x .venv/bin/python ]]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi

MODE=run
ONLY=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --plan) MODE=plan ;;
    --only) ONLY="${2:?--only needs a comma-separated list of steps}"; shift ;;
    --only=*) ONLY="${1#--only=}" ;;
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "gpu_check.sh: unknown argument '$1' (use --plan, --only STEPS or --help)" >&2; exit 2 ;;
  esac
  shift
done

DEVICE=${GPU_CHECK_DEVICE:-cuda}
CORES=${GPU_CHECK_CORES:-16}
STEPS=(pytest alarm-tf32 alarm-bf16 gradients workflow)
declare -A BUDGET=([pytest]=90 [alarm-tf32]=30 [alarm-bf16]=30 [gradients]=45 [workflow]=240)
KILL_AFTER=5      # seconds between timeout's TERM and KILL
LIMIT=460         # the budgets (+ KILL_AFTER each): under 8 minutes with the set-up and the summary
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
DEST=${GPU_CHECK_OUT:-reports/gpu_check/$STAMP}
CONFIG=config/gpu-check.yaml
RESULTS=results/gpu-check   # results_dir of $CONFIG (the workflow's own outputs, not committed)

MIRROR=""
for candidate in "${ALARMBENCH_MIRROR:-}" ../shared/data shared/data; do
  if [[ -n "$candidate" && -d "$candidate" ]]; then MIRROR=$(cd "$candidate" && pwd); break; fi
done

if [[ -n "$ONLY" ]]; then
  IFS=, read -r -a SELECTED <<<"$ONLY"
  for s in "${SELECTED[@]}"; do
    [[ -n "${BUDGET[$s]:-}" ]] || { echo "gpu_check.sh: unknown step '$s' (steps: ${STEPS[*]})" >&2; exit 2; }
  done
  STEPS=("${SELECTED[@]}")
fi

# The command of each step (an array per step, run from the repository root).
step_command() {
  case "$1" in
    pytest) CMD=("$PYTHON" -m pytest -q -m gpu tests -p no:cacheprovider) ;;
    alarm-tf32) CMD=("$PYTHON" benchmarks/alarm_training.py --device "$DEVICE" --precision tf32 --steps 200
                     --warmup 5 --json "$DEST/alarm-tf32.json") ;;
    alarm-bf16) CMD=("$PYTHON" benchmarks/alarm_training.py --device "$DEVICE" --precision bf16 --steps 200
                     --warmup 5 --json "$DEST/alarm-bf16.json") ;;
    gradients) CMD=("$PYTHON" benchmarks/gradients.py --device "$DEVICE" --models kdd conv -k 3 -n 8192 --repeats 3
                    --disk-mb 512 --cache-dir "$DEST") ;;
    # --nolock --rerun-incomplete: a step killed at its time limit leaves a lock and partial outputs.
    workflow) CMD=("$PYTHON" -m snakemake "$RESULTS/reports/results.csv" --cores "$CORES" --resources gpu=4 downloads=2
                   --keep-going --nolock --rerun-incomplete ${MIRROR:+--config "mirror=$MIRROR"}
                   --configfile "$CONFIG" "$DEST/device.yaml") ;;
  esac
}

write_overlay() {  # the device of the workflow's jobs (config overlay: merged key by key)
  mkdir -p "$DEST"
  printf 'run:\n  device: %s\n' "$DEVICE" >"$DEST/device.yaml"
}

# ---------------------------------------------------------------------------------------- plan
if [[ $MODE == plan ]]; then
  DEST=$(mktemp -d)
  trap 'rm -rf "$DEST"' EXIT
  write_overlay
  missing=0
  fail() { echo "  MISSING: $*"; missing=$((missing + 1)); }
  echo "GPU check plan (repository $ROOT)"
  echo "python: $PYTHON"
  if ! "$PYTHON" -c 'import torch, alarmbench; print(f"  torch {torch.__version__}, CUDA available: {torch.cuda.is_available()}; alarmbench from {alarmbench.__file__}")'; then
    fail "$PYTHON cannot import torch and alarmbench"
  fi
  command -v timeout >/dev/null || fail "the timeout command (coreutils)"
  command -v nvidia-smi >/dev/null && echo "  GPU: $(nvidia-smi --query-gpu=name --format=csv,noheader | head -1)" \
    || echo "  (no nvidia-smi here: the run needs a CUDA machine)"
  [[ -n "$MIRROR" ]] && echo "  mirror: $MIRROR" || echo "  (no mirror found: the workflow step needs \$ALARMBENCH_MIRROR or ../shared/data)"
  [[ -f "$CONFIG" ]] || fail "$CONFIG"
  total=0
  echo
  printf '%-11s %7s  %s\n' step budget command
  for s in "${STEPS[@]}"; do
    step_command "$s"
    printf '%-11s %6ss  %s\n' "$s" "${BUDGET[$s]}" "${CMD[*]}"
    total=$((total + BUDGET[$s] + KILL_AFTER))
  done
  echo "worst case with ${KILL_AFTER}s kill grace per step: ${total}s (limit ${LIMIT}s; 8 min = 480 s)"
  ((total <= LIMIT)) || fail "time budget: ${total}s exceeds ${LIMIT}s"
  echo
  echo "checks:"
  declare -A HELP=()
  for s in "${STEPS[@]}"; do  # each benchmark a step runs exists, parses, and accepts every flag it gets
    step_command "$s"
    script=${CMD[1]}
    [[ $script == benchmarks/*.py ]] || continue
    if [[ ! -f $script ]]; then fail "$script (step $s)"; continue; fi
    if [[ -z "${HELP[$script]:-}" ]] && ! HELP[$script]=$("$PYTHON" "$script" --help 2>&1); then
      fail "$script --help (step $s): ${HELP[$script]##*$'\n'}"; HELP[$script]="(broken)"; continue
    fi
    [[ ${HELP[$script]} != "(broken)" ]] || continue
    bad=0
    for arg in "${CMD[@]}"; do
      [[ $arg == --* ]] || continue
      # an option line of argparse's help ("  --steps STEPS  …", "  -k, --snapshots K"), not prose
      grep -qE -- "^ +(-[A-Za-z0-9]+ [A-Z_]+, |-[A-Za-z0-9]+, )?$arg( |,|$)" <<<"${HELP[$script]}" \
        || { fail "$script does not accept $arg (step $s)"; bad=1; }
    done
    ((bad)) || echo "  ok: $s: $script --help accepts ${CMD[*]:2}"
  done
  if "$PYTHON" benchmarks/gpu_check_summary.py --help >/dev/null 2>&1; then echo "  ok: benchmarks/gpu_check_summary.py --help"
  else fail "benchmarks/gpu_check_summary.py --help"; fi
  selected() { [[ " ${STEPS[*]} " == *" $1 "* ]]; }
  if ! selected pytest; then :
  elif out=$("$PYTHON" -m pytest --collect-only -q -m gpu tests -p no:cacheprovider 2>&1); then
    n=$(grep -cE '^tests/gpu/.*::' <<<"$out")
    ((n > 0)) && echo "  ok: pytest --collect-only -m gpu: $n tests" || fail "pytest -m gpu collects no test under tests/gpu"
  else
    fail "pytest --collect-only -m gpu: ${out##*$'\n'}"
  fi
  step_command workflow
  if ! selected workflow; then :
  elif "${CMD[@]:0:3}" -n --forceall "${CMD[@]:3}" >"$DEST/dry_run.txt" 2>&1; then
    gpu=1; [[ $DEVICE == cuda* ]] || gpu=0
    if "$PYTHON" benchmarks/gpu_check_summary.py --check-plan "$DEST/dry_run.txt" --methods r2ad2,devnet,a3,ae --gpu $gpu; then
      echo "  ok: snakemake -n with $CONFIG: a fit of r2ad2, devnet, a3 and ae, each claiming gpu=$gpu"
    else
      fail "the workflow step's dry run (above)"
    fi
  else
    fail "snakemake -n with $CONFIG: $(tail -5 "$DEST/dry_run.txt")"
  fi
  echo
  if ((missing)); then echo "plan: $missing problem(s)"; exit 1; fi
  echo "plan: ready (run: bash benchmarks/gpu_check.sh)"
  exit 0
fi

# ----------------------------------------------------------------------------------------- run
write_overlay
mkdir -p "$DEST/logs"
{
  echo "started $(date -u +%FT%TZ) on $(hostname)"
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  "$PYTHON" -c 'import torch; print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}")'
  echo "mirror: ${MIRROR:-none}"
  git rev-parse --short HEAD 2>/dev/null | sed 's/^/commit /'
} >"$DEST/environment.txt" 2>&1
printf 'step\tbudget_s\twall_s\trc\n' >"$DEST/steps.tsv"
if [[ $DEVICE == cuda* ]]; then unset ALARMBENCH_GPU_TEST_DEVICE; else export ALARMBENCH_GPU_TEST_DEVICE=$DEVICE; fi
status=0
for s in "${STEPS[@]}"; do
  step_command "$s"
  if [[ $s == workflow && -z "$MIRROR" ]]; then
    echo "no data mirror: set ALARMBENCH_MIRROR (NSL-KDD is registration-gated)" >"$DEST/logs/$s.log"
    printf '%s\t%s\t0\tno-mirror\n' "$s" "${BUDGET[$s]}" >>"$DEST/steps.tsv"
    status=1
    continue
  fi
  echo "== $s (budget ${BUDGET[$s]} s): ${CMD[*]}"
  start=$(date +%s.%N)
  echo "$start" >"$DEST/$s.start"
  timeout --kill-after=$KILL_AFTER "${BUDGET[$s]}" "${CMD[@]}" >"$DEST/logs/$s.log" 2>&1
  rc=$?
  wall=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  printf '%s\t%s\t%s\t%s\n' "$s" "${BUDGET[$s]}" "$wall" "$rc" >>"$DEST/steps.tsv"
  tail -3 "$DEST/logs/$s.log" | sed 's/^/   /'
  ((rc == 0)) || status=1
done
[[ -d $RESULTS ]] && cp "$RESULTS/reports/results.csv" "$DEST/workflow-results.csv" 2>/dev/null
"$PYTHON" benchmarks/gpu_check_summary.py "$DEST" --results "$RESULTS" || status=1
echo
echo "summary: $DEST/summary.md"
exit $status
