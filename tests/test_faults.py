"""The fault matrix (BUILD.md): every case through the real command line ends with the uninterrupted run's
numbers or with one line naming the problem, and deletes nothing good.

The reference is one uninterrupted run; each case copies its workdir, breaks something, and runs the
same command again (as a user would), then `python -m fmnist_jax.verify`.
"""

from __future__ import annotations

import contextlib
import json
import pathlib
import shutil
import subprocess

import pytest

from conftest import run_cli, small_config
from fmnist_jax import experiment
from fmnist_jax.errors import CheckpointError

ARGS = ["--config=configs/b_lenet5.py", "--config.train_limit=3000", "--config.num_epochs=3"]
NOISE = ("Traceback", "Event loop is closed", "Exception ignored")


def train(workdir: pathlib.Path, *extra: str) -> subprocess.CompletedProcess:
    return run_cli("fmnist_jax.main", *ARGS, f"--workdir={workdir}", *extra)


def assert_clean(process: subprocess.CompletedProcess) -> None:
    for noise in NOISE:
        assert noise not in process.stderr, process.stderr[-3000:]


def one_line_error(process: subprocess.CompletedProcess) -> str:
    assert process.returncode == 2, process.stderr[-3000:]
    assert_clean(process)
    errors = [line for line in process.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, process.stderr[-3000:]
    return errors[0]


def numbers_of(results: dict) -> tuple:
    return results["test_accuracy"], results["test_loss"], results["best_epoch"], results["num_params"]


@pytest.fixture(scope="module")
def straight(tmp_path_factory) -> pathlib.Path:
    """The uninterrupted run every case is compared with."""
    workdir = tmp_path_factory.mktemp("straight") / "run"
    done = train(workdir)
    assert done.returncode == 0, done.stderr[-3000:]
    return workdir


def copy_of(straight: pathlib.Path, tmp_path: pathlib.Path) -> pathlib.Path:
    workdir = tmp_path / "run"
    shutil.copytree(straight, workdir)
    (workdir / "results.json").unlink()
    return workdir


def garble(directory: pathlib.Path) -> None:
    """Overwrites every non-empty file below directory with zeros (its size kept): unreadable."""
    for path in directory.rglob("*"):
        if path.is_file() and path.stat().st_size > 0:
            path.write_bytes(bytes(path.stat().st_size))


def snapshot(directory: pathlib.Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in directory.rglob("*") if p.is_file()}


@pytest.mark.parametrize("item", ["state", "best", "record"])
def test_an_unreadable_newest_checkpoint_is_set_aside_retrained_and_saved(item, straight, tmp_path):
    workdir = copy_of(straight, tmp_path)
    garble(workdir / "checkpoints" / "3" / item)
    resumed = train(workdir)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert_clean(resumed)
    assert f"resuming {workdir} from epoch 2" in resumed.stderr
    results = json.loads((workdir / "results.json").read_text())
    expected = json.loads((straight / "results.json").read_text())
    assert numbers_of(results) == numbers_of(expected)
    assert results["checkpoint_epoch"] == 3
    assert (workdir / "checkpoints_unreadable" / "3" / item).is_dir(), "the broken checkpoint is kept"
    assert (workdir / "checkpoints" / "3").is_dir(), "the retrained epoch is saved"
    if item != "state":
        return  # the same path from here on: run it once
    third = train(workdir)  # nothing is retrained a second time
    assert third.returncode == 0 and "is finished (epoch 3); not retraining" in third.stderr
    verified = run_cli("fmnist_jax.verify", f"--workdir={workdir}")
    assert verified.returncode == 0 and f"verified: {workdir}" in verified.stdout, verified.stdout + verified.stderr


def test_every_checkpoint_unreadable_is_one_line_and_deletes_nothing(straight, tmp_path):
    workdir = copy_of(straight, tmp_path)
    garble(workdir / "checkpoints")
    before = snapshot(workdir / "checkpoints")
    error = one_line_error(train(workdir))
    assert "no checkpoint" in error and "restores this run's state" in error
    assert snapshot(workdir / "checkpoints") == before


@contextlib.contextmanager
def tmpfs(path: pathlib.Path, size_kib: int):
    path.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_kib}k", "tmpfs", str(path)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.decode().strip()}): needs root")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def test_a_full_disk_during_a_save_is_one_line_and_resumes_once_there_is_room(straight, tmp_path):
    with tmpfs(tmp_path / "small", 2000) as mount:  # room for one checkpoint of ~1.1 MB, not two
        workdir = mount / "run"
        error = one_line_error(train(workdir))
        assert "No space left" in error and "run the same command again to resume" in error
        kept = sorted(p.name for p in (workdir / "checkpoints").iterdir() if p.name.isdigit())
        assert kept, "the last good checkpoint is kept"
        subprocess.run(["mount", "-o", "remount,size=20m", str(mount)], check=True)
        resumed = train(workdir)
        assert resumed.returncode == 0, resumed.stderr[-3000:]
        assert_clean(resumed)
        results = json.loads((workdir / "results.json").read_text())
    assert numbers_of(results) == numbers_of(json.loads((straight / "results.json").read_text()))


def test_a_read_only_workdir_on_resume_is_one_line(straight, tmp_path):
    with tmpfs(tmp_path / "ro", 20_000) as mount:
        shutil.copytree(straight, mount / "run")
        (mount / "run" / "results.json").unlink()
        before = snapshot(mount / "run")
        subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
        error = one_line_error(train(mount / "run"))
        assert "is not writable" in error
        assert snapshot(mount / "run") == before


def test_a_length_dependent_schedule_refuses_another_num_epochs_on_resume(tmp_path):
    cosine = small_config("b_lenet5", train_limit=1000, num_epochs=1, schedule="cosine")
    experiment.train_and_evaluate(cosine, str(tmp_path / "cosine"))
    cosine.num_epochs = 2
    with pytest.raises(CheckpointError, match=r"num_epochs=1 on a cosine schedule.*--config.num_epochs=1"):
        experiment.train_and_evaluate(cosine, str(tmp_path / "cosine"))
    # Step decay gives every trained epoch the same rate at any length: extending it is allowed.
    step = small_config("b_lenet5", train_limit=1000, num_epochs=1, schedule="piecewise_constant", decay_every_epochs=1)
    experiment.train_and_evaluate(step, str(tmp_path / "step"))
    step.num_epochs = 2
    assert experiment.train_and_evaluate(step, str(tmp_path / "step"))["epochs_trained"] == 2


def test_verify_names_each_tampered_field(straight, tmp_path):
    workdir = tmp_path / "run"
    shutil.copytree(straight, workdir)
    results = json.loads((workdir / "results.json").read_text())
    results["test_accuracy"] += 0.01
    results["best_epoch"] = 1
    (workdir / "results.json").write_text(json.dumps(results))
    verified = run_cli("fmnist_jax.verify", f"--workdir={workdir}")
    assert verified.returncode == 1
    lines = verified.stdout.strip().splitlines()
    assert len(lines) == 2
    assert "results.json test_accuracy" in lines[0] and "results.json best_epoch" in lines[1]
