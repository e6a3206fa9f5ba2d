"""A run's directory: its file names, its lock, and atomic writes.

One process trains in a workdir at a time: `lock` takes an exclusive `flock` on `DIR/.lock`, which
the operating system releases when the process ends however it ends (kill -9 included), so no stale
lock is ever left behind. A second process on a busy workdir stops at once, naming the first's PID.
"""

from __future__ import annotations

import fcntl
import json
import os
import pathlib
from collections.abc import Callable
from typing import IO, Any

import numpy as np

from fmnist_jax import parallel
from fmnist_jax.errors import UserError

RESULTS_FILE = "results.json"  # what the run measured: written once the best models are scored on test
EVAL_FILE = "eval.json"  # what --config.eval_only=True measured
LOCK_FILE = ".lock"  # held (flock) by the process training here; holds its PID
# Every member's logits on the test set, from the models results.json scored (parts.py merges the
# members of runs trained apart into one ensemble from these).
TEST_LOGITS_FILE = "test_logits.npz"


def prepare(workdir: str | pathlib.Path) -> pathlib.Path:
    """Creates the workdir, or raises a one-line UserError when it is a file or not writable."""
    path = pathlib.Path(workdir)
    if path.exists() and not path.is_dir():
        raise UserError(f"--workdir {workdir} is a file, not a directory: choose another --workdir.")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"--workdir {workdir} cannot be created ({e.strerror}): choose a writable --workdir.") from None
    if not os.access(path, os.W_OK) or _is_read_only_mount(path):
        raise UserError(f"--workdir {workdir} is not writable: choose a writable --workdir.")
    return path


def _is_read_only_mount(path: pathlib.Path) -> bool:
    # root passes os.access on a read-only file system: ask the file system itself.
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def lock(path: pathlib.Path) -> IO[str] | None:
    """Takes the workdir's lock for this process's lifetime (process 0 of a multi-process run only:
    the others train beside it) and returns the open lock file (keep it: closing it releases the lock).

    Raises a one-line UserError naming the other process when one holds it.
    """
    if not parallel.is_primary():
        return None
    handle = open(path / LOCK_FILE, "a+")  # noqa: SIM115 - held open for the run's lifetime
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        handle.close()
        raise UserError(
            f"workdir {path} is in use by process {holder}: wait for it to finish (or stop it), or use another "
            "--workdir."
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


def write_json(path: pathlib.Path, payload: dict[str, Any]) -> None:
    """Writes atomically (a reader never sees half a file, a crash never leaves one); process 0 only."""
    write_text(path, json.dumps(payload, indent=2, sort_keys=False))


def write_arrays(path: pathlib.Path, **arrays: np.ndarray) -> None:
    """Writes arrays as a compressed .npz atomically, as write_text does text; process 0 only."""

    def save(tmp: pathlib.Path) -> None:
        with tmp.open("wb") as handle:
            np.savez_compressed(handle, **arrays)

    _write_atomically(path, save)


def write_text(path: pathlib.Path, text: str) -> None:
    """Writes atomically, through a temporary file renamed over the target; process 0 only."""
    _write_atomically(path, lambda tmp: tmp.write_text(text))


def _write_atomically(path: pathlib.Path, write: Callable[[pathlib.Path], Any]) -> None:
    """write(tmp) fills a temporary file beside path, renamed over path once complete: a reader never sees
    half a file, a crash never leaves one. Process 0 only."""
    if not parallel.is_primary():
        return
    tmp = path.with_suffix(f"{path.suffix}.tmp{os.getpid()}")
    try:
        write(tmp)
        tmp.replace(path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise UserError(f"cannot write {path} ({e.strerror}): free space or fix permissions, then rerun.") from None
