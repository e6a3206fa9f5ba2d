"""Never lose a run: SIGKILL at random moments and SIGTERM resume to the uninterrupted result, a NaN stops
naming its step. Unreadable checkpoints, a full disk and the rest of the fault matrix: test_faults.py."""

from __future__ import annotations

import json
import os
import pathlib
import random
import signal
import subprocess
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
import orbax.checkpoint as ocp
import pytest

from conftest import REPO_ROOT, small_config
from fmnist_jax import experiment, optim
from fmnist_jax.errors import UserError


def test_sigterm_finishes_the_epoch_saves_and_the_rerun_completes(tmp_path):
    workdir = tmp_path / "run"
    args = [
        sys.executable,
        "-m",
        "fmnist_jax.main",
        "--config=configs/b_lenet5.py",
        f"--workdir={workdir}",
        "--config.train_limit=3000",
        "--config.num_epochs=6",
    ]
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    process = subprocess.Popen(args, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 300
    while not (workdir / "checkpoints" / "1").exists() and time.time() < deadline:
        time.sleep(0.1)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 2, stderr[-2000:]
    assert "Traceback" not in stderr
    message = [line for line in stderr.splitlines() if line.startswith("error: stopped by SIGTERM after epoch")]
    assert len(message) == 1 and "run the same command again to resume" in message[0]
    stopped_after = int(message[0].split("after epoch ")[1].split()[0])
    assert stopped_after < 6 and (workdir / "checkpoints" / str(stopped_after)).exists()
    resumed = subprocess.run(args, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"resuming {workdir} from epoch {stopped_after}" in resumed.stderr
    results = json.loads((workdir / "results.json").read_text())
    assert len(results["history"]) == 6
    # Two processes trained it; results.json names each one's epochs, code and machine.
    segments = results["trained_by"]
    assert [segment["epochs"] for segment in segments] == [[1, stopped_after], [stopped_after + 1, 6]]
    assert {segment["git_commit"] for segment in segments} == {results["provenance"]["git_commit"]}


def _final_state(workdir: pathlib.Path) -> dict:
    """The arrays of the newest checkpoint's train state, restored without a template (numpy)."""
    newest = max(int(p.name) for p in (workdir / "checkpoints").iterdir() if p.name.isdigit())
    state = ocp.StandardCheckpointer().restore((workdir / "checkpoints" / str(newest) / "state").absolute())
    return {jax.tree_util.keystr(path): np.asarray(leaf) for path, leaf in jax.tree_util.tree_leaves_with_path(state)}


def _kill_during_training(args: list[str], env: dict, log: pathlib.Path, after_s: float) -> None:
    """Starts the run, waits until its epoch program is compiled (training is under way), lets it run
    `after_s` more seconds, then SIGKILLs it: no handler runs, a save may be half written."""
    with open(log, "w") as stderr:
        process = subprocess.Popen(args, env=env, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=stderr)
        deadline = time.time() + 120
        while "compiled the train epoch" not in log.read_text() and process.poll() is None and time.time() < deadline:
            time.sleep(0.05)
        time.sleep(after_s)
        process.kill()
        process.wait()


@pytest.mark.slow  # 2.5 minutes; test_faults.py kills one run during its asynchronous save in every run
def test_sigkill_at_random_moments_then_resume_ends_bitwise_like_an_uninterrupted_run(tmp_path):
    # Batch norm, dropout, shuffling and early stopping all depend on state that must survive the kills;
    # one kept checkpoint makes every save also delete the previous one. 6 epochs of ~0.4 s each.
    args = [
        sys.executable,
        "-m",
        "fmnist_jax.main",
        "--config=configs/variant_bn.py",
        "--config.train_limit=1500",
        "--config.num_epochs=6",
        "--config.early_stopping_patience=3",
        "--config.checkpoint_keep=1",
    ]
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    straight = tmp_path / "straight"  # the uninterrupted run, alongside the killed ones
    reference = subprocess.Popen([*args, f"--workdir={straight}"], env=env, cwd=REPO_ROOT, stderr=subprocess.PIPE)
    killed = tmp_path / "killed"
    delays_s = [round(random.uniform(0.1, 2.0), 2) for _ in range(3)]  # printed on failure: rerun with them
    epochs_at_kill = []
    for delay_s in delays_s:
        _kill_during_training([*args, f"--workdir={killed}"], env, tmp_path / "killed.log", delay_s)
        epochs_at_kill.append(sorted(p.name for p in (killed / "checkpoints").glob("[0-9]*")))
    resumed = subprocess.run([*args, f"--workdir={killed}"], env=env, cwd=REPO_ROOT, capture_output=True, text=True)
    assert reference.wait(timeout=600) == 0, reference.stderr.read()[-2000:]
    where = f"killed {delays_s} s into training, checkpoints then: {epochs_at_kill}"
    assert resumed.returncode == 0, (where, resumed.stderr[-2000:])
    straight_results = json.loads((straight / "results.json").read_text())
    killed_results = json.loads((killed / "results.json").read_text())
    for field in ("test_loss", "test_accuracy", "best_epoch", "epochs_trained", "stopped_early"):
        assert killed_results[field] == straight_results[field], (field, where)
    for field in ("train_loss", "val_loss", "val_accuracy"):
        assert [e[field] for e in killed_results["history"]] == [e[field] for e in straight_results["history"]], where
    straight_state, killed_state = _final_state(straight), _final_state(killed)
    assert straight_state.keys() == killed_state.keys()
    for name, value in straight_state.items():
        np.testing.assert_array_equal(killed_state[name], value, err_msg=f"{name}, {where}")


def test_a_nan_loss_stops_naming_the_step_and_keeps_the_last_good_checkpoint(tmp_path):
    config = small_config("baseline", train_limit=1500, num_epochs=2, learning_rate=1e9)
    with pytest.raises(UserError, match=r"the loss is NaN or Inf at step \d+ of epoch 1 .*nan_policy=skip_step"):
        experiment.train_and_evaluate(config, str(tmp_path))
    assert not list((tmp_path / "checkpoints").glob("1"))


def test_skip_step_leaves_params_unchanged_on_a_nan_gradient():
    config = small_config("baseline", nan_policy="skip_step")
    tx = optim.make_optimizer(config, steps_per_epoch=10)
    params = {"w": jnp.ones(3)}
    opt_state = tx.init(params)
    updates, opt_state = tx.update({"w": jnp.array([1.0, jnp.nan, 0.0])}, opt_state, params)
    np.testing.assert_array_equal(optax.apply_updates(params, updates)["w"], params["w"])
    updates, _ = tx.update({"w": jnp.array([1.0, 1.0, 0.0])}, opt_state, params)
    assert not np.array_equal(optax.apply_updates(params, updates)["w"], params["w"])
