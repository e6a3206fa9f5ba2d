"""The command-line tools as a user runs them: main, eval_only, describe, and one-line errors."""

from __future__ import annotations

import json

import pytest

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


BAD_INPUTS = {
    "unknown model": (
        ("--config=configs/baseline.py", "--config.model=resnet999"),
        "config field model='resnet999' is unknown",
    ),
    "negative learning rate": (
        ("--config=configs/baseline.py", "--config.learning_rate=-0.1"),
        "learning_rate=-0.1 must be > 0",
    ),
    "unknown field": (
        ("--config=configs/baseline.py", "--config.learning_rat=0.1"),
        "config field learning_rat does not exist",
    ),
    "unknown optimizer": (
        ("--config=configs/baseline.py", "--config.optimizer=adamax"),
        "optimizer='adamax' is unknown",
    ),
    "missing config file": (
        ("--config=configs/no_such_config.py",),
        "config file configs/no_such_config.py does not exist",
    ),
    "val_fraction out of range": (
        ("--config=configs/baseline.py", "--config.val_fraction=1.5"),
        "val_fraction=1.5 must be in (0, 1)",
    ),
    "missing dataset": (
        ("--config=configs/baseline.py", "--config.data_dir=/nonexistent"),
        "apt-get install dataset-fashion-mnist",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_gives_one_line_error(case, tmp_path):
    args, expected = BAD_INPUTS[case]
    result = run_cli("fmnist_jax.main", *args, f"--workdir={tmp_path / 'run'}")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1 and expected in error_lines[0], result.stderr[-1000:]
