"""The fault matrix, the cases about processes (BUILD.md): a second process on a busy workdir, SIGTERM to
one of two jax.distributed processes, kill -9 during an asynchronous save. Apart from test_faults.py so
that the test runner's two workers share the matrix."""

from __future__ import annotations

import json
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time

from test_faults import ARGS, assert_clean, numbers_of, one_line_error, straight, train  # noqa: F401 (a fixture)

from conftest import REPO_ROOT


def _popen(args: list[str], **env_extra: str) -> subprocess.Popen:
    env = dict(os.environ, JAX_PLATFORMS="cpu", **env_extra)
    return subprocess.Popen(
        [sys.executable, "-m", "fmnist_jax.main", *args],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(path: pathlib.Path, process: subprocess.Popen, timeout_s: float = 300) -> None:
    deadline = time.time() + timeout_s
    while not path.exists() and process.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert path.exists(), process.stderr.read() if process.poll() is not None else "timed out"


def test_a_second_process_on_a_busy_workdir_stops_at_once_naming_the_first(tmp_path):
    workdir = tmp_path / "run"
    first = _popen([*ARGS[:2], "--config.num_epochs=40", f"--workdir={workdir}"])
    try:
        _wait_for(workdir / "checkpoints" / "1", first)
        error = one_line_error(train(workdir))
        assert f"in use by process {first.pid}" in error
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=300)
    assert first.returncode == 2  # stopped by SIGTERM after an epoch, checkpointed
    resumed = train(workdir, "--config.num_epochs=40", "--config.eval_only=True")  # the lock was released
    assert resumed.returncode == 0, resumed.stderr[-3000:]


def test_sigterm_to_one_of_two_processes_stops_both_at_the_same_epoch(tmp_path):
    with socket.socket() as probe:  # a free port for the coordinator
        probe.bind(("localhost", 0))
        port = probe.getsockname()[1]
    workdir = tmp_path / "two"
    args = [
        "--config=configs/baseline.py",
        "--config.train_limit=1200",
        "--config.batch_size=64",
        "--config.num_epochs=40",
        "--config.parallel=data",
        f"--workdir={workdir}",
        f"--coordinator_address=localhost:{port}",
        "--num_processes=2",
    ]
    processes = [_popen([*args, f"--process_id={index}"]) for index in (0, 1)]
    try:
        _wait_for(workdir / "checkpoints" / "1", processes[0])
        processes[1].send_signal(signal.SIGTERM)  # the one that is not process 0
        logs = [process.communicate(timeout=300)[1] for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    stopped = []
    for process, log in zip(processes, logs, strict=True):
        assert process.returncode == 2, log[-3000:]
        (line,) = [line for line in log.splitlines() if line.startswith("error: stopped by")]
        stopped.append(int(line.split("after epoch ")[1].split()[0]))
    assert stopped[0] == stopped[1] < 40
    assert (workdir / "checkpoints" / str(stopped[0])).is_dir()


def test_kill_9_during_an_asynchronous_save_resumes_to_the_uninterrupted_numbers(straight, tmp_path):  # noqa: F811
    workdir = tmp_path / "run"
    process = _popen([*ARGS[:2], "--config.num_epochs=40", f"--workdir={workdir}"])  # a constant schedule
    deadline = time.time() + 300
    in_flight = workdir / "checkpoints" / "2.orbax-checkpoint-tmp"
    while not in_flight.exists() and not (workdir / "checkpoints" / "2").exists() and time.time() < deadline:
        time.sleep(0.002)
    process.kill()  # SIGKILL: no handler runs; the save of epoch 2 is (most likely) half written
    process.communicate(timeout=60)
    resumed = train(workdir)  # num_epochs 3, as the reference: with a constant schedule it may change
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert_clean(resumed)
    results = json.loads((workdir / "results.json").read_text())
    assert numbers_of(results) == numbers_of(json.loads((straight / "results.json").read_text()))
