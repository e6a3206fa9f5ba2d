"""Shared fixtures: configs shrunk to small slices of the real Fashion-MNIST."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

from fmnist_jax import data
from fmnist_jax.config_base import config_from_file

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
CONFIG_DIR = REPO_ROOT / "configs"
CONFIG_FILES = sorted(p for p in CONFIG_DIR.glob("*.py") if not p.name.startswith("_"))


def small_config(name: str, **overrides):
    """configs/<name>.py on the first 2,000 training examples for one epoch, with overrides."""
    config = config_from_file(CONFIG_DIR / f"{name}.py")
    config.train_limit = 2000
    config.num_epochs = 1
    for field, value in overrides.items():
        config[field] = value
    return config


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
