"""Scale-out on CPU: 4 simulated devices (data- and member-parallel) and two processes with jax.distributed
give the results of one device for the same global batch (to float tolerance)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO_ROOT

COMMON = [
    "--config=configs/baseline.py",
    "--config.train_limit=1200",
    "--config.num_epochs=2",
    "--config.batch_size=64",
    "--config.eval_batch_size=1000",
]
FOUR_DEVICES = "--xla_force_host_platform_device_count=4"


def _main(workdir, *args, env_extra=None, **popen):
    env = dict(os.environ, JAX_PLATFORMS="cpu", **(env_extra or {}))
    command = [sys.executable, "-m", "fmnist_jax.main", *COMMON, f"--workdir={workdir}", *args]
    return subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(process) -> dict:
    _, stderr = process.communicate(timeout=600)
    assert process.returncode == 0, stderr[-3000:]
    return stderr


def _results(workdir) -> dict:
    return json.loads((workdir / "results.json").read_text())


def _assert_same_training(parallel: dict, single: dict) -> None:
    """Same losses to float reassociation; test accuracy within a few of the 10,000 test images."""
    for field in ("train_loss", "val_loss"):
        np.testing.assert_allclose(
            [entry[field] for entry in parallel["history"]], [entry[field] for entry in single["history"]], rtol=2e-3
        )
    np.testing.assert_allclose(parallel["test_loss"], single["test_loss"], rtol=2e-3)
    assert abs(parallel["test_accuracy"] - single["test_accuracy"]) <= 2e-3


@pytest.fixture(scope="module")
def four_device_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("four_devices")
    four = {"XLA_FLAGS": FOUR_DEVICES}
    runs = {
        "one_device": [],
        "data": ["--config.parallel=data"],
        "members_one_device": ["--config.num_seeds=4"],
        "members": ["--config.num_seeds=4", "--config.parallel=members"],
    }
    # All at once: each spends most of its time importing JAX and compiling, single-threaded.
    processes = [_main(root / name, *args, env_extra=four) for name, args in runs.items()]
    for process in processes:
        _finish(process)
    return {name: _results(root / name) for name in runs}


@pytest.mark.extended  # the four runs of the fixture: 117 CPU-s
def test_data_parallel_over_four_devices_equals_one_device(four_device_runs):
    data_parallel = four_device_runs["data"]
    assert data_parallel["device"]["device_count"] == 4 and data_parallel["parallel"] == "data"
    _assert_same_training(data_parallel, four_device_runs["one_device"])


@pytest.mark.extended  # the same four runs
def test_member_parallel_over_four_devices_equals_one_device(four_device_runs):
    split, together = four_device_runs["members"], four_device_runs["members_one_device"]
    assert split["parallel"] == "members" and len(split["test_accuracy_per_seed"]) == 4
    np.testing.assert_allclose(split["test_loss_per_seed"], together["test_loss_per_seed"], rtol=2e-3)
    np.testing.assert_allclose(
        split["history"][-1]["val_loss_per_member"], together["history"][-1]["val_loss_per_member"], rtol=2e-3
    )


@pytest.mark.extended  # 25 CPU-s, and the four runs
def test_two_processes_with_jax_distributed_train_one_model_like_one_process(tmp_path, four_device_runs):
    with socket.socket() as probe:  # a free port for the coordinator
        probe.bind(("localhost", 0))
        port = probe.getsockname()[1]
    distributed = [
        "--config.parallel=data",
        f"--coordinator_address=localhost:{port}",
        "--num_processes=2",
    ]
    processes = [_main(tmp_path / "two", *distributed, f"--process_id={index}") for index in (0, 1)]
    logs = [_finish(process) for process in processes]
    assert "process 0 of 2; 2 devices in all, 1 here" in logs[0]
    assert "process 1 of 2; 2 devices in all, 1 here" in logs[1]
    two_processes = _results(tmp_path / "two")
    assert two_processes["device"]["device_count"] == 2
    _assert_same_training(two_processes, four_device_runs["one_device"])


def test_members_that_do_not_split_over_the_devices_are_refused(tmp_path):
    process = _main(
        tmp_path / "run", "--config.num_seeds=3", "--config.parallel=members", env_extra={"XLA_FLAGS": FOUR_DEVICES}
    )
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 2 and "Traceback" not in stderr
    assert "3 members, which do not split over 4 devices" in stderr
