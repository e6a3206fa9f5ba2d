#!/usr/bin/env bash
# The GPU checks BENCHMARKS.md owes, as one prepared script for a machine with one NVIDIA GPU:
#   1. throughput of every architecture (batch 128, 512, 2048), with N=1 and N=16 members of each;
#   2. 16 vmapped LeNet-5 seeds against one (benchmarks.ensemble_scaling, vmap and map);
#   3. time to 93 % test accuracy with the speedrun recipe (and b_lenet5 beside it);
#   4. JAX against PyTorch on CUDA (benchmarks.compare refuses a GPU-vs-CPU comparison).
# Each step has its own time limit, so one that overruns costs only itself; the tables go to
# $OUT/gpu_checks.md (and the JSON of steps 1, 3 and 4 beside it), then into BENCHMARKS.md by hand
# with the device named.
#
# On the `device` tool's H200 (jax 0.11 with CUDA 13, flax, optax, orbax and PyTorch installed;
# nothing can be fetched there), from the repository root here, once:
#   echo /.whl/ >> .git/info/exclude; echo /.fmnist/ >> .git/info/exclude
#   mkdir -p .fmnist && cp /usr/share/datasets/fashion-mnist/*.gz .fmnist/
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#     --platform manylinux2014_x86_64 -d .whl ml-collections==1.1.0
# then one call: run(command="bash benchmarks/gpu_checks.sh", carry=[".whl", ".fmnist"], timeout_s=600).
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/gpu_checks}
mkdir -p "$out"
python=${PYTHON:-python3}
export PYTHONUNBUFFERED=1 TF_CPP_MIN_LOG_LEVEL=3
if [ -d .whl ]; then
  "$python" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site
fi
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
if [ -d .fmnist ] && [ ! -d /usr/share/datasets/fashion-mnist ]; then
  mkdir -p /usr/share/datasets/fashion-mnist && cp .fmnist/*.gz /usr/share/datasets/fashion-mnist/
fi
report="$out/gpu_checks.md"
{
  echo "# GPU checks, $(date -Is), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1
  "$python" -c "import jax, flax, optax; print('jax', jax.__version__, jax.devices(), 'flax', flax.__version__, 'optax', optax.__version__)" 2>&1
  "$python" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())" 2>&1
} | tee "$report"

step() {  # step SECONDS TITLE MODULE ARGS...: the module's stdout tables into the report
  local limit=$1 title=$2
  shift 2
  echo -e "\n## $title\n\n\`python -m $*\`\n" | tee -a "$report"
  timeout "$limit" "$python" -m "$@" 2> "$out/last_step_stderr.txt" | tee -a "$report"
  local status=${PIPESTATUS[0]}
  if [ "$status" -ne 0 ]; then
    echo "(exit $status; the end of its stderr:)" | tee -a "$report"
    tail -n 5 "$out/last_step_stderr.txt" | tee -a "$report"
  fi
}

step 150 "Throughput of every architecture" benchmarks.throughput --batch_sizes=128,512,2048 --steps=50 \
  --ensemble_members=1,16 --out="$out/throughput"
step 60 "16 LeNet-5 seeds in one program against one" benchmarks.ensemble_scaling --configs=b_lenet5 \
  --members=1,16 --num_examples=60000 --repeats=3
step 90 "Time to accuracy (test), the speedrun beside b_lenet5" benchmarks.time_to_accuracy \
  --configs=speedrun,b_lenet5 --targets=0.90,0.92,0.93 --split=test --out="$out/time_to_accuracy"
step 240 "JAX against PyTorch on CUDA" benchmarks.compare --batch_sizes=128,512 --repeats=3 \
  --out="$out/compare"
rm -f "$out/last_step_stderr.txt"
echo -e "\ndone $(date -Is)" | tee -a "$report"
