# Sourced (from the repository root) by the scripts that run on the `device` tool's GPU machine,
# benchmarks/gpu_checks.sh and results/gpu_run.sh: nothing can be fetched there, so it installs the
# carried wheels (.whl: ml-collections), puts the carried dataset (.fmnist: the four IDX files) where
# data.py looks for it, and has every JSON record the commit named in $1 (the copy sent there may carry
# a stale .git, or none). How to make .whl and .fmnist: the top of benchmarks/gpu_checks.sh.
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
if [ -n "${1:-}" ]; then export FMNIST_JAX_COMMIT=$1; fi
