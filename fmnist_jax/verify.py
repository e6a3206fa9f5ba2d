"""Checks a finished run's results.json against its checkpoint: the numbers come from the models it names.

  python -m fmnist_jax.verify --workdir=DIR

Restores the best models of the checkpoint that results.json names (`checkpoint_epoch`), scores them
on the test set again, and compares test accuracy and loss (each member's and the ensemble's), the
best epochs and the parameter count with what results.json says: one line per mismatch and exit
status 1, or one line "verified". A k-fold run is verified fold by fold. Nothing is written.
"""

from __future__ import annotations

import json
import pathlib
import sys
from typing import Any

import numpy as np
from absl import app, flags

from fmnist_jax import cli
from fmnist_jax import workdir as run_files
from fmnist_jax.config_base import config_from_record
from fmnist_jax.errors import UserError
from fmnist_jax.run import Run

# Accuracies are counts over a fixed test set: equal. Losses are float sums: equal up to rounding
# (bit for bit on the same machine and versions; a little apart on another).
LOSS_RTOL = 1e-5
ACCURACY_FIELDS = (
    "test_accuracy",
    "test_accuracy_per_seed",
    "test_accuracy_per_member",
    "ensemble_test_accuracy_mean_prob",
    "ensemble_test_accuracy_vote",
    "best_sweep_point",
)
LOSS_FIELDS = (
    "test_loss",
    "test_loss_per_seed",
    "test_loss_per_member",
    "ensemble_test_loss_mean_prob",
    "test_loss_with_penalty",
)


def read_results(workdir: pathlib.Path) -> dict[str, Any]:
    path = workdir / run_files.RESULTS_FILE
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise UserError(f"{path} does not exist: verify a finished run's --workdir.") from None
    except (OSError, json.JSONDecodeError) as e:
        raise UserError(f"{path} is not readable JSON ({e}): rerun the training command to rewrite it.") from None


def _differs(written: Any, measured: Any, rtol: float) -> bool:
    written_array, measured_array = np.asarray(written, np.float64), np.asarray(measured, np.float64)
    if written_array.shape != measured_array.shape:
        return True
    return not np.allclose(written_array, measured_array, rtol=rtol, atol=0.0)


def compare(results: dict[str, Any], measured: dict[str, Any], *, prefix: str = "") -> list[str]:
    """One line per field whose written value differs from the measured one (fields present in either)."""
    lines = []
    for fields, rtol in ((ACCURACY_FIELDS, 1e-12), (LOSS_FIELDS, LOSS_RTOL)):
        for field in fields:
            if field not in results and field not in measured:
                continue
            written, got = results.get(field, "missing"), measured.get(field, "missing")
            if "missing" in (written, got) or _differs(written, got, rtol):
                lines.append(f"{prefix}results.json {field}: {written} written, {got} re-measured")
    return lines


def verify_run(workdir: pathlib.Path) -> list[str]:
    """Mismatches between workdir/results.json and its checkpoint, as one line each ([] = verified)."""
    results = read_results(workdir)
    if "folds" in results:
        return verify_kfold(workdir, results)
    config = config_from_record(results["config"])
    config.eval_only = True
    run = Run(config, str(workdir))
    try:
        test, record, _ = run.evaluate_best_on_test(epoch=results.get("checkpoint_epoch"), plot=False)
    finally:
        run.close()
    prefix = f"{workdir}: "
    lines = compare(results, test, prefix=prefix)
    best_epochs = record["best_epoch"]
    written_best = results.get("best_epoch_per_member", [results.get("best_epoch")])
    if list(written_best) != list(best_epochs):
        lines.append(f"{prefix}results.json best_epoch: {written_best} written, {best_epochs} in the checkpoint")
    if results.get("num_params") != run.num_params:
        lines.append(f"{prefix}results.json num_params: {results.get('num_params')} written, {run.num_params} built")
    return lines


def verify_kfold(workdir: pathlib.Path, summary: dict[str, Any]) -> list[str]:
    """Each fold against its checkpoint, then the summary against the folds' results."""
    lines = []
    folds = []
    for index in range(summary["kfold"]):
        fold_dir = workdir / f"fold_{index}"
        lines += verify_run(fold_dir)
        folds.append(read_results(fold_dir))
    expected = {
        "test_accuracy_per_fold": [fold["test_accuracy"] for fold in folds],
        "val_accuracy_per_fold": [fold["best_val_accuracy"] for fold in folds],
        "best_fold_test_accuracy": folds[summary["best_fold"]]["test_accuracy"],
    }
    for field, value in expected.items():
        if _differs(summary.get(field, np.nan), value, 1e-12):
            lines.append(f"{workdir}: results.json {field}: {summary.get(field)} written, {value} in the folds")
    return lines


@cli.exit_on_user_error
def main(argv: list[str]) -> None:
    cli.begin(argv)
    workdir = pathlib.Path(flags.FLAGS.workdir)
    mismatches = verify_run(workdir)
    if mismatches:
        print("\n".join(mismatches))
        sys.exit(1)
    print(f"verified: {workdir}")


if __name__ == "__main__":
    # Defined here, not at import: the suite imports verify_run and has a --workdir of its own.
    flags.DEFINE_string("workdir", None, "The finished run to verify (holding results.json).")
    flags.mark_flag_as_required("workdir")
    app.run(main, flags_parser=cli.parse_flags)
