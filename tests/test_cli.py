"""The command-line tools as a user runs them: main, eval_only, describe, and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

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


STALE_CALLBACK = """
import asyncio, sys
import tensorstore as ts
from fmnist_jax import cli
cli.quiet_orbax()
# What a failed asynchronous save leaves behind: a TensorStore future awaited on a loop that is closed
# before the future finishes.
promise, future = ts.Promise.new()
loop = asyncio.new_event_loop()
async def wait():
    await future
async def start():
    asyncio.ensure_future(wait())
    await asyncio.sleep(0.01)
loop.run_until_complete(start())
loop.close()
promise.set_result(1)
class Unrelated:
    def __del__(self):
        raise ValueError("an unrelated error still prints")
Unrelated()
"""


def test_a_failed_saves_stale_tensorstore_callbacks_print_nothing_but_other_errors_still_do():
    process = subprocess.run([sys.executable, "-c", STALE_CALLBACK], capture_output=True, text=True, check=True)
    assert "Event loop is closed" not in process.stderr, process.stderr
    assert "an unrelated error still prints" in process.stderr, process.stderr


UNRETRIEVED_FAILURES = """
import asyncio, gc
from fmnist_jax import cli
cli.quiet_orbax()
# What a failed asynchronous save leaves behind: the futures of its other failed writes, never awaited
# because Orbax raised the first failure. One is raised in Orbax's Python code (compiled here under an
# Orbax file name); the other comes from TensorStore's C++, with no Python frame.
orbax = {}
source = "def write():\\n    raise ValueError('RESOURCE_EXHAUSTED: No space left on device')\\n"
exec(compile(source, "/venv/site-packages/orbax/checkpoint/_src/serialization/serialization.py", "exec"), orbax)
async def failed_write():
    orbax["write"]()
async def unrelated():
    raise KeyError("an unrelated failure still prints")
loop = asyncio.new_event_loop()
tasks = [loop.create_task(failed_write()), loop.create_task(unrelated())]
tensorstore_write = loop.create_future()
tensorstore_write.set_exception(ValueError(
    'RESOURCE_EXHAUSTED: Error writing "w/0" at local file "run/checkpoints/2.orbax-checkpoint-tmp/d/1"'
))
loop.run_until_complete(asyncio.sleep(0.01))
del tasks, tensorstore_write
gc.collect()
"""


def test_a_failed_saves_unretrieved_write_failures_print_nothing_but_other_failures_still_do():
    process = subprocess.run([sys.executable, "-c", UNRETRIEVED_FAILURES], capture_output=True, text=True, check=True)
    assert "RESOURCE_EXHAUSTED" not in process.stderr, process.stderr
    assert "an unrelated failure still prints" in process.stderr, process.stderr
