"""Shared fixtures: configs shrunk to small slices of the real Fashion-MNIST."""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

import jax
import numpy as np
import pytest

from fmnist_jax import data
from fmnist_jax.config_base import config_from_file

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
CONFIG_DIR = REPO_ROOT / "configs"
CONFIG_FILES = sorted(p for p in CONFIG_DIR.glob("*.py") if not p.name.startswith("_"))


# Many tests compile the same programs (b_lenet5 on 3,000 images in every fault case, each in its own
# process): one XLA compilation cache for the whole session, every xdist worker and every command
# line a test starts, saves most of those compiles (5.0 s -> 0.6 s for one such run). A cache hit
# needs the same program, XLA flags and machine, so it cannot change a result. The session's own
# folder, removed at its end: nothing carries over to the next run.
_XLA_CACHE_ENV = "JAX_COMPILATION_CACHE_DIR"
_created_xla_cache: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    if _XLA_CACHE_ENV not in os.environ:  # set by the xdist controller for its workers, or by the user
        os.environ[_XLA_CACHE_ENV] = tempfile.mkdtemp(prefix="fmnist_jax_test_xla_cache_")
        _created_xla_cache.append(os.environ[_XLA_CACHE_ENV])
    os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0"  # the small test programs too
    jax.config.update("jax_compilation_cache_dir", os.environ[_XLA_CACHE_ENV])  # jax may be imported already
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)


def pytest_unconfigure(config: pytest.Config) -> None:
    for folder in _created_xla_cache:
        shutil.rmtree(folder, ignore_errors=True)


def small_config(name: str, **overrides):
    """configs/<name>.py on the first 2,000 training examples for one epoch, with overrides."""
    config = config_from_file(CONFIG_DIR / f"{name}.py")
    config.train_limit = 2000
    config.num_epochs = 1
    # Members one after another: CPU's `auto` (`interleave`) computes the same numbers bit for bit
    # (tests/test_ensemble.py runs it, a whole run included) but compiles a program with a step per member
    # of a group, 4-6 s more per ensemble in these compile-bound small runs.
    config.members_program = "map"
    for field, value in overrides.items():
        config[field] = value
    return config


def normal(seed: int, *shape: int) -> np.ndarray:
    """Standard normal float32 test inputs from NumPy: jax.random would compile a program per shape
    (about 0.6 s each here) for values whose only job is to be arbitrary."""
    return np.random.default_rng(seed).standard_normal(shape, dtype=np.float32)


@pytest.fixture(scope="session")
def fashion_mnist() -> data.FashionMNIST:
    return data.load_fashion_mnist()


@pytest.fixture
def isolated_cache(tmp_path, monkeypatch):
    """A fresh checksum cache, so a test sees the real verification path."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache"


def run_cli(module: str, *args: str, cwd: pathlib.Path = REPO_ROOT) -> subprocess.CompletedProcess:
    """Runs `python -m module args...` as a user would; returns the finished process."""
    env = dict(os.environ, JAX_PLATFORMS="cpu", TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run(
        [sys.executable, "-m", module, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
