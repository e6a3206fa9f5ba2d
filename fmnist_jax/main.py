"""Train, checkpoint and evaluate one config.

  python -m fmnist_jax.main --config=configs/variant_bn.py --workdir=runs/variant_bn \
      [--config.num_epochs=3 --config.train_limit=5000 ...]

Running it again on the same workdir resumes; a finished run is not retrained.
`--config.eval_only=True` restores the best checkpoint and evaluates it on the test set.

Several hosts (one process each, same command, same shared --workdir):
  python -m fmnist_jax.main ... --config.parallel=data \
      --coordinator_address=HOST0:1234 --num_processes=2 --process_id=0   # 1 on the other host
(or JAX_COORDINATOR_ADDRESS / JAX_NUM_PROCESSES / JAX_PROCESS_ID; `--distributed` lets JAX detect
the cluster, e.g. SLURM or a TPU pod slice).
"""

from __future__ import annotations

from absl import app, flags
from ml_collections import config_flags

from fmnist_jax import cli, config_check, parallel

_CONFIG = config_flags.DEFINE_config_file("config", None, "Path to a config file in configs/.", lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for checkpoints and results.json.")
_ENV_ADDRESS, _ENV_COUNT, _ENV_INDEX = parallel.distributed_settings_from_env()
_COORDINATOR = flags.DEFINE_string(
    "coordinator_address", _ENV_ADDRESS, "host:port of process 0 of a multi-process run (JAX_COORDINATOR_ADDRESS)."
)
_NUM_PROCESSES = flags.DEFINE_integer("num_processes", _ENV_COUNT, "Processes in the run (JAX_NUM_PROCESSES).")
_PROCESS_ID = flags.DEFINE_integer("process_id", _ENV_INDEX, "This process's index, 0-based (JAX_PROCESS_ID).")
_DISTRIBUTED = flags.DEFINE_boolean(
    "distributed", False, "Join a multi-process run whose settings JAX detects from the cluster (SLURM, TPU pods)."
)
flags.mark_flags_as_required(["config", "workdir"])


@cli.exit_on_user_error
def main(argv: list[str]) -> None:
    cli.begin(argv)
    # A bad config is answered before the training stack (Orbax, the loop, plots) is imported: 0.3-0.5 s sooner
    # here. Validation touches no device, so a multi-process run still joins JAX distributed below (the
    # two-process test in tests/test_parallel.py runs this order).
    config_check.validate(_CONFIG.value)
    from fmnist_jax import experiment  # noqa: PLC0415

    if _COORDINATOR.value or _DISTRIBUTED.value:
        parallel.initialize_distributed(_COORDINATOR.value, _NUM_PROCESSES.value, _PROCESS_ID.value)
    experiment.train_and_evaluate(_CONFIG.value, _WORKDIR.value)


if __name__ == "__main__":
    app.run(main, flags_parser=cli.parse_flags)
