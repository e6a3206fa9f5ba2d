"""Trains a committed result again from its own record and compares the mean test accuracy.

  python -m fmnist_jax.rerun --results=results/cpu/c_lenet5 --workdir=/tmp/rerun/c_lenet5 --out=results/cpu/reruns

The config is the one the committed results.json recorded (laid over today's base config, as
`verify` and a resume read it), trained from scratch into --workdir, a folder of its own: a rerun
never writes into the committed result. It prints both means, per seed (or fold) and their
difference in points, and exits with status 1 when they differ by more than --tolerance_points
(0.5: issue 12's bar for "the same result"). --out writes <config>.json there: both sides, the
difference, and how the rerun was made (commit, command, machine).

On the same machine and library versions a rerun is expected to match bit for bit (fixed seeds,
deterministic XLA:CPU); the tolerance is for another machine or version, whose floating-point
rounding differs and grows over a run.
"""

from __future__ import annotations

import json
import pathlib
import sys
from typing import Any

from absl import app, flags

from fmnist_jax import cli, environment, experiment, results_table
from fmnist_jax.config_base import base_config, config_from_record
from fmnist_jax.errors import UserError


def define_flags() -> None:
    """Defined when run as a program, not at import: tests and other tools import this module, and
    --workdir is defined by others too."""
    flags.DEFINE_string("results", None, "A finished run's folder (holding results.json) to train again.")
    flags.DEFINE_string("workdir", None, "A new folder for the rerun (not the committed one).")
    flags.DEFINE_float("tolerance_points", 0.5, "Largest accepted difference of the mean test accuracy.")
    flags.DEFINE_string("out", "", "Folder for <config>.json with both sides and the difference (optional).")
    flags.mark_flags_as_required(["results", "workdir"])


def read_committed(folder: pathlib.Path) -> dict[str, Any]:
    path = folder / "results.json"
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise UserError(f"--results: {path} does not exist: name a finished run's folder.") from None
    except json.JSONDecodeError as e:
        raise UserError(f"--results: {path} is not valid JSON ({e}): restore it from git.") from None


def fields_added_since(recorded_config: dict[str, Any]) -> dict[str, Any]:
    """Config fields the record lacks (added after that run was made) with the value a rerun takes:
    the behaviour that run had (config_base.BEHAVIOUR_BEFORE_THE_FIELD), else today's default."""
    config = config_from_record(recorded_config).to_dict()
    return {field: config[field] for field in base_config().to_dict() if field not in recorded_config}


def comparison(name: str, committed: dict[str, Any], rerun: dict[str, Any], tolerance_points: float) -> dict[str, Any]:
    """Both sides' mean test accuracy (in %) and per-seed values, their difference, and the verdict."""
    committed_seeds = results_table.test_accuracies(committed)
    rerun_seeds = results_table.test_accuracies(rerun)
    committed_mean = 100 * sum(committed_seeds) / len(committed_seeds)
    rerun_mean = 100 * sum(rerun_seeds) / len(rerun_seeds)
    difference = rerun_mean - committed_mean
    return {
        "config": name,
        "committed": {
            "test_accuracy_mean_percent": committed_mean,
            "test_accuracy_per_seed": committed_seeds,
            "provenance": committed.get("provenance", {}),
            "versions": committed.get("versions", {}),
        },
        "rerun": {
            "test_accuracy_mean_percent": rerun_mean,
            "test_accuracy_per_seed": rerun_seeds,
            "train_time_s": rerun.get("train_time_s"),
            "provenance": rerun.get("provenance") or environment.provenance(),
            "versions": rerun.get("versions", {}),
        },
        "fields_added_since_the_committed_run": fields_added_since(committed.get("config", {})),
        "difference_points": difference,
        "tolerance_points": tolerance_points,
        "bit_for_bit": committed_seeds == rerun_seeds,
        "same_within_tolerance": abs(difference) <= tolerance_points,
    }


def summary_line(result: dict[str, Any]) -> str:
    committed, rerun = result["committed"], result["rerun"]
    verdict = "same" if result["same_within_tolerance"] else "DIFFERENT"
    exact = ", bit for bit" if result["bit_for_bit"] else ""
    added = ", ".join(f"{field}={value}" for field, value in result["fields_added_since_the_committed_run"].items())
    return (
        f"{result['config']}: committed {committed['test_accuracy_mean_percent']:.2f} %, rerun "
        f"{rerun['test_accuracy_mean_percent']:.2f} % ({result['difference_points']:+.2f} points): {verdict} "
        f"within {result['tolerance_points']} points{exact}"
        + (f" (fields the record lacks, read as: {added})" if added else "")
    )


@cli.exit_on_user_error
def main(argv: list[str]) -> None:
    cli.begin(argv)
    options = flags.FLAGS
    committed_folder = pathlib.Path(options.results)
    workdir = pathlib.Path(options.workdir)
    if workdir.resolve() == committed_folder.resolve():
        raise UserError("--workdir is the committed run's folder: give the rerun a folder of its own.")
    if options.tolerance_points < 0:
        raise UserError(f"--tolerance_points={options.tolerance_points} is negative: give 0 or more (points).")
    committed = read_committed(committed_folder)
    config = config_from_record(committed["config"])
    rerun = experiment.train_and_evaluate(config, str(workdir))
    result = comparison(committed_folder.name, committed, rerun, options.tolerance_points)
    if options.out:
        out = pathlib.Path(options.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / f"{committed_folder.name}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(summary_line(result))
    if not result["same_within_tolerance"]:
        sys.exit(1)


if __name__ == "__main__":
    define_flags()
    app.run(main, flags_parser=cli.parse_flags)
