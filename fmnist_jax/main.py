"""Train, checkpoint and evaluate one config.

  python -m fmnist_jax.main --config=configs/variant_bn.py --workdir=runs/variant_bn \
      [--config.num_epochs=3 --config.train_limit=5000 ...]

Running it again on the same workdir resumes; a finished run is not retrained.
`--config.eval_only=True` restores the best checkpoint and evaluates it on the test set.
"""

from __future__ import annotations

from absl import app, flags, logging
from ml_collections import config_flags

from fmnist_jax import cli, experiment

_CONFIG = config_flags.DEFINE_config_file("config", None, "Path to a config file in configs/.", lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for checkpoints and results.json.")
flags.mark_flags_as_required(["config", "workdir"])


@cli.exit_on_user_error
def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    logging.set_verbosity(logging.INFO)
    cli.quiet_orbax()
    experiment.train_and_evaluate(_CONFIG.value, _WORKDIR.value)


if __name__ == "__main__":
    app.run(main, flags_parser=cli.parse_flags)
