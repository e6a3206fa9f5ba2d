#!/usr/bin/env bash
# The reproduction campaign, one config group after another, one training process at a time:
#   nohup bash results/campaign.sh [GROUP ...] > campaign.log 2>&1 &
# Each group is a --only pattern of fmnist_jax.suite; seeds and epochs per config come from
# fmnist_jax/campaign.py. The group "ablations" runs campaign.py's ABLATIONS (one change each to a
# config that falls short) into results/cpu/ablations/; "ablations:d_inception,d_sigmoid" only those
# of the configs matching the patterns. Finished configs are skipped and interrupted ones resume, so the same
# command continues a campaign in a later session (configs whose results.json is committed are not
# trained again, even in a fresh clone without their checkpoints). Report E's cnn5 ensembles train in parts of
# one seed (results/cpu/<config>/parts/seeds_<a>-<b>/, fmnist_jax/parts.py), each short enough for one session
# and committed as it ends; once all are there they merge into results/cpu/<config>/results.json.
# SIGTERM finishes the epoch in flight, saves,
# and stops the whole campaign (the suite exits non-zero, and so does this script).
# Run it from a worktree at a fixed commit (git worktree add ../campaign HEAD) so that other work
# does not change the code under it; every results.json records the commit it ran.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python}
groups=("$@")
if [ ${#groups[@]} -eq 0 ]; then
  groups=("b_*" "c_*" "ablations" "e_mlp*" "baseline,variant_*,a_*" "e_cnn4" "d_*" "e_cnn5_augmented" "e_cnn5")
fi
for group in "${groups[@]}"; do
  echo "== $(date -Is) campaign group $group"
  if [ "${group%%:*}" = ablations ]; then
    # A finished ablation says so and exits 0; an interrupted one resumes.
    only=""
    if [[ "$group" == ablations:* ]]; then only="${group#ablations:}"; fi
    "$python" -m fmnist_jax.campaign "$only" | while read -r command; do
      echo "== $(date -Is) $command"
      ${command/#python/$python} < /dev/null
    done
  else
    "$python" -m fmnist_jax.suite --profile=campaign --workdir=results/cpu --only="$group"
  fi
done
echo "== $(date -Is) campaign done: python -m fmnist_jax.results_table writes results/README.md"
