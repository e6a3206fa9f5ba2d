"""`python -m fmnist_jax.rerun`: a committed result trained again from its own record, compared by mean."""

from __future__ import annotations

import json

from conftest import run_cli, small_config
from fmnist_jax import experiment, rerun, results_table


def test_a_rerun_matches_its_committed_run_bit_for_bit_and_a_moved_record_is_flagged(tmp_path):
    committed = tmp_path / "results" / "b_lenet5"
    experiment.train_and_evaluate(small_config("b_lenet5", train_limit=1000, num_seeds=2), str(committed))
    out = tmp_path / "results" / "reruns"
    rerun_args = [f"--results={committed}", f"--workdir={tmp_path / 'rerun'}", f"--out={out}"]

    same = run_cli("fmnist_jax.rerun", *rerun_args)
    assert same.returncode == 0, same.stderr[-3000:]
    assert "b_lenet5: committed" in same.stdout and "+0.00 points): same within 0.5 points, bit for bit" in same.stdout
    written = json.loads((out / "b_lenet5.json").read_text())
    assert written["bit_for_bit"] and written["same_within_tolerance"]
    assert len(written["rerun"]["test_accuracy_per_seed"]) == 2
    markdown, _ = results_table.render(tmp_path / "results")
    mean = f"{written['committed']['test_accuracy_mean_percent']:.2f}"
    assert f"| `b_lenet5` | {mean} | {mean} | +0.00 | yes | - |" in markdown

    # The committed numbers moved by 0.6 points: the same rerun disagrees.
    record = json.loads((committed / "results.json").read_text())
    moved = dict(record, test_accuracy_per_seed=[value + 0.006 for value in record["test_accuracy_per_seed"]])
    rerun_results = json.loads((tmp_path / "rerun" / "results.json").read_text())
    different = rerun.comparison("b_lenet5", moved, rerun_results, tolerance_points=0.5)
    assert not different["same_within_tolerance"] and not different["bit_for_bit"]
    assert "(-0.60 points): DIFFERENT within 0.5 points" in rerun.summary_line(different)


def test_a_rerun_into_the_committed_folder_is_refused_in_one_line(tmp_path):
    refused = run_cli("fmnist_jax.rerun", f"--results={tmp_path}", f"--workdir={tmp_path}")
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines()[-1].startswith("error: --workdir is the committed run's folder")
