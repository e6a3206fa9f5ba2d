"""`python -m fmnist_jax.rerun`: a committed result trained again from its own record, compared by mean."""

from __future__ import annotations

import json

from conftest import run_cli, small_config
from fmnist_jax import experiment, results_table


def test_a_rerun_matches_its_committed_run_bit_for_bit_and_a_tampered_one_is_flagged(tmp_path):
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

    # The committed numbers moved by 0.6 points: the rerun (already trained, so read back) disagrees.
    results_path = committed / "results.json"
    results = json.loads(results_path.read_text())
    results["test_accuracy_per_seed"] = [value + 0.006 for value in results["test_accuracy_per_seed"]]
    results_path.write_text(json.dumps(results))
    different = run_cli("fmnist_jax.rerun", *rerun_args)
    assert different.returncode == 1, different.stderr[-3000:]
    assert "-0.60 points): DIFFERENT within 0.5 points" in different.stdout


def test_a_rerun_into_the_committed_folder_is_refused_in_one_line(tmp_path):
    refused = run_cli("fmnist_jax.rerun", f"--results={tmp_path}", f"--workdir={tmp_path}")
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines()[-1].startswith("error: --workdir is the committed run's folder")
