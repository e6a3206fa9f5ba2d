"""The reproduction campaign's plan: how long and over how many seeds each config trains on a CPU.

`python -m fmnist_jax.suite --profile=campaign --workdir=results/cpu` follows it; the results are
committed under results/cpu/<config>/ and `python -m fmnist_jax.results_table` turns them into
results/README.md. Every config of Reports A, B, C and E trains for its own epochs (or until its own
early stopping); Report D's 400 epochs at batch 1024 are hours per seed on 2 CPU cores, so its block
is cut to D_EPOCHS, stated in the table. Seeds: 5 where a config is cheap (LeNet-5s, MLPs), 3 for
the CNNs, Report E's 15 for its cnn5 ensemble, one per fold for Report A's 5-fold run.
"""

from __future__ import annotations

import dataclasses

# Report D's epochs on CPU: the whole block (9 configs x 3 seeds) within about 3 CPU-hours. Measured
# 2026-11-28 (BENCHMARKS.md, suite profile): one epoch of 3 members costs ~103 s for each of the six
# cnn_d configs, ~240 s for d_resnet, ~150 s for d_inception: ~1,000 s per epoch of the block.
D_EPOCHS = 10


@dataclasses.dataclass(frozen=True)
class Plan:
    num_seeds: int
    num_epochs_cap: int = 0  # 0 = the config's own epochs


EXCLUDED = ("speedrun",)  # not a report's config: BENCHMARKS.md times it


def plan_for(name: str) -> Plan:
    """The campaign's seeds and epoch cap for configs/<name>.py."""
    if name == "e_cnn5":
        return Plan(num_seeds=15)  # Report E: "15 models from different seeds vote"
    if name == "a_kfold_step_decay":
        return Plan(num_seeds=1)  # 5 folds, one model each, as the report
    if name.startswith("d_"):
        return Plan(num_seeds=3, num_epochs_cap=D_EPOCHS)
    if name.startswith(("b_", "c_", "e_mlp")):
        return Plan(num_seeds=5)
    return Plan(num_seeds=3)  # Report A's CNN-As, Report E's cnn4 and augmented cnn5
