#!/usr/bin/env bash
# The GPU checks BENCHMARKS.md owes, as one prepared script for a machine with one NVIDIA GPU:
#   1. throughput of every architecture (batch 128 and 2048; step 2 is the ensemble scaling);
#   2. 16 vmapped LeNet-5 seeds against one (benchmarks.ensemble_scaling, XLA's conv and im2col);
#   3. time to 93 % test accuracy with the speedrun recipe (and b_lenet5 beside it);
#   4. JAX against PyTorch on CUDA, eager and torch.compile, batch 128, 3 repeats (benchmarks.compare
#      refuses a GPU-vs-CPU comparison).
# Each step has its own time limit (about 9.5 minutes in all, inside the device's 10-minute call), so one
# that overruns costs only itself, and steps 1 and 4 print a line per measured row as they go, so a
# step cut short still leaves its rows. The tables go to $OUT/gpu_checks.md; the JSON, CSV, plot and
# stderr of every step to $OUT/gpu_checks_outputs.tar.gz (the device returns at most 8 files); then
# into BENCHMARKS.md by hand with the device named. GPU_CHECKS_QUICK=1 shrinks every step to a
# smoke test of this script (on any machine).
#
# On the `device` tool's H200 (jax 0.11 with CUDA 13, flax, optax, orbax and PyTorch installed;
# nothing can be fetched there), from the repository root here, once:
#   echo /.whl/ >> .git/info/exclude; echo /.fmnist/ >> .git/info/exclude
#   mkdir -p .fmnist && cp /usr/share/datasets/fashion-mnist/*.gz .fmnist/
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#     --platform manylinux2014_x86_64 -d .whl ml-collections==1.1.0
# then one call (the copy sent there has no .git, so name the commit):
#   run(command="GPU_CHECKS_COMMIT=<sha> bash benchmarks/gpu_checks.sh", carry=[".whl", ".fmnist"], timeout_s=600).
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/gpu_checks}
work=$(mktemp -d)  # every step's files; packed into one archive at the end
mkdir -p "$out"
. benchmarks/device_env.sh "${GPU_CHECKS_COMMIT:-}"
report="$out/gpu_checks.md"
{
  echo "# GPU checks, $(date -Is), commit ${GPU_CHECKS_COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1
  "$python" -c "import jax, flax, optax; print('jax', jax.__version__, jax.devices(), 'flax', flax.__version__, 'optax', optax.__version__)" 2>&1
  "$python" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())" 2>&1
} | tee "$report"

step() {  # step SECONDS NAME TITLE MODULE ARGS...: the module's stdout into the report, stderr kept
  local limit=$1 name=$2 title=$3
  shift 3
  echo -e "\n## $title\n\n\`python -m $*\`\n" | tee -a "$report"
  local began=$SECONDS
  timeout "$limit" "$python" -m "$@" 2> "$work/$name.stderr.txt" | tee -a "$report"
  local status=${PIPESTATUS[0]}
  echo "($((SECONDS - began)) s of its $limit s)" | tee -a "$report"
  if [ "$status" -ne 0 ]; then
    echo "(exit $status; the end of its stderr:)" | tee -a "$report"
    tail -n 5 "$work/$name.stderr.txt" | tee -a "$report"
  fi
}

if [ "${GPU_CHECKS_QUICK:-0}" = 1 ]; then
  models=(--models=lenet5,mlp) batches=--batch_sizes=32 steps=--steps=5 examples=--num_examples=1280
  tta=(--configs=speedrun --max_epochs=1 --train_limit=2560) cmp=(--models=lenet5 --train_limit=2560 --repeats=1)
else
  models=() batches=--batch_sizes=128,2048 steps=--steps=50 examples=--num_examples=60000
  tta=(--configs=speedrun,b_lenet5) cmp=(--models=lenet5,cnn_a,cnn_d,block_cnn --repeats=3 --train_limit=12800 --min_timed_s=1)
fi
# compare's budget: since the H200 run of 2026-11-29 (238 s of its 270 on all 60,000 images, warm inductor
# caches) every repeat pays a cold torch.compile and times epochs until they add up to --min_timed_s; on a
# 12,800-image slice an eager epoch takes about 0.3-0.5 s there (estimated from that run's images/s), leaving
# about 14 s for each of the 12 cold compiles (not measured on a GPU yet); rows print as each model finishes.
step 190 throughput "Throughput of every architecture" benchmarks.throughput "${models[@]}" "$batches" "$steps" \
  --ensemble_members= --out="$work/throughput"
# vmap only (map measured 1.09x separate runs on the H200, 2026-11-29), but with both lowerings: XLA's
# conv (a grouped conv once vmapped, the suspect of 16 members costing 8-9x one) and im2col (batched matmuls).
step 60 ensemble_scaling "16 LeNet-5 seeds in one program against one" benchmarks.ensemble_scaling \
  --configs=b_lenet5 --members=1,16 --programs=vmap --conv_impls=auto,im2col "$examples" --repeats=3
step 45 time_to_accuracy "Time to accuracy (test), the speedrun beside b_lenet5" benchmarks.time_to_accuracy \
  "${tta[@]}" --targets=0.90,0.92,0.93 --split=test --out="$work/time_to_accuracy"
step 270 compare "JAX against PyTorch on CUDA (batch 128)" benchmarks.compare "${cmp[@]}" --batch_sizes=128 \
  --out="$work/compare"
tar czf "$out/gpu_checks_outputs.tar.gz" -C "$work" .
echo -e "\ndone $(date -Is), $SECONDS s in all" | tee -a "$report"
