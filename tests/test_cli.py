"""The command-line tools as a user runs them: main, eval_only, describe, and one-line errors."""

from __future__ import annotations

import json

from conftest import run_cli

SLICE = ("--config.train_limit=1500", "--config.num_epochs=1")


def test_main_trains_then_eval_only_reports_the_same_test_accuracy(tmp_path):
    workdir = tmp_path / "run"
    trained = run_cli("fmnist_jax.main", "--config=configs/baseline.py", f"--workdir={workdir}", *SLICE)
    assert trained.returncode == 0, trained.stderr[-2000:]
    results = json.loads((workdir / "results.json").read_text())
    assert "epoch 1/1: train_loss" in trained.stderr  # absl logging of the epoch's metrics
    evaluated = run_cli(
        "fmnist_jax.main", "--config=configs/baseline.py", f"--workdir={workdir}", *SLICE, "--config.eval_only=True"
    )
    assert evaluated.returncode == 0, evaluated.stderr[-2000:]
    assert json.loads((workdir / "eval.json").read_text())["test_accuracy"] == results["test_accuracy"]


def test_describe_ends_with_total_params():
    described = run_cli("fmnist_jax.describe", "--config=configs/baseline.py")
    assert described.returncode == 0, described.stderr[-2000:]
    assert described.stdout.strip().splitlines()[-1] == "Total params: 225,034"
