#!/usr/bin/env bash
# A campaign run on the `device` tool's GPU machine, in one call: the hours a run costs on 2 CPU cores are
# minutes there (Report D's 400 epochs, Report E's cnn5 seeds). From the repository root here, after making
# .whl and .fmnist as the top of benchmarks/gpu_checks.sh says:
#   run(command="bash results/gpu_run.sh <commit> NAME MAIN_ARGS...", carry=[".whl", ".fmnist"], timeout_s=600)
# trains `python -m fmnist_jax.main MAIN_ARGS` into a folder of its own there and copies its results.json,
# test_logits.npz, curves.png and confusion_matrix.png to $OUT/NAME/ (checkpoints stay behind), e.g.
#   bash results/gpu_run.sh abc1234 seeds_01-14 --config=configs/e_cnn5.py --config.seed=1 --config.num_seeds=14
#   bash results/gpu_run.sh abc1234 d_cnn__num_epochs=400,num_seeds=1 --config=configs/d_cnn.py \
#     --config.num_epochs=400 --config.num_seeds=1
# Then copy $OUT/NAME/ to its place here (results/cpu/e_cnn5/parts/, results/cpu/ablations/), regenerate
# results/README.md and commit. The run's results.json names the GPU it ran on (device, provenance), and a
# merge of parts keeps each part's (parts[].device), so a table says which numbers a GPU made.
# fp32 as on the CPU: JAX_DEFAULT_MATMUL_PRECISION=highest keeps the GPU's matmuls and convolutions off
# TF32 (the default there rounds their inputs to 10 mantissa bits). The members are vmapped there
# (members_program auto), so N seeds cost far less than N runs.
set -euo pipefail
cd "$(dirname "$0")/.."
commit=$1 name=$2
shift 2
. benchmarks/device_env.sh "$commit"
export JAX_DEFAULT_MATMUL_PRECISION=${JAX_DEFAULT_MATMUL_PRECISION:-highest}
workdir=$(mktemp -d)/run
"$python" -m fmnist_jax.main "$@" --workdir="$workdir"
out=${OUT:-/tmp/gpu_run}/$name
mkdir -p "$out"
for file in results.json test_logits.npz curves.png confusion_matrix.png; do
  if [ -f "$workdir/$file" ]; then cp "$workdir/$file" "$out/"; fi
done
ls -la "$out"
