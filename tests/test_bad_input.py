"""A wall of bad inputs, each giving one line that names the field and the fix, exit status 2, no
traceback, and nothing in the workdir lost."""

from __future__ import annotations

import concurrent.futures
import gzip
import pathlib
import subprocess

import pytest

from conftest import run_cli
from fmnist_jax import data


@pytest.fixture(scope="module")
def broken_data_dirs(tmp_path_factory):
    """Folders with three good files (links to the real ones) and one bad file each."""
    root = tmp_path_factory.mktemp("bad_data")
    with gzip.open(f"{data.DEFAULT_DATA_DIR}/t10k-labels-idx1-ubyte.gz") as f:
        labels = f.read()
    variants = {
        "wrong_size": labels[:-10],
        "wrong_magic": b"\x00\x00\x08\x03" + labels[4:],
        "bad_checksum": labels[:8] + bytes((b + 1) % 10 for b in labels[8:]),
    }
    for name, content in variants.items():
        folder = root / name
        folder.mkdir()
        for stem in data.FILE_SHA256:
            if stem != "t10k-labels-idx1-ubyte":
                (folder / f"{stem}.gz").symlink_to(f"{data.DEFAULT_DATA_DIR}/{stem}.gz")
        (folder / "t10k-labels-idx1-ubyte").write_bytes(content)
    (root / "empty.py").write_text("")
    (root / "broken.py").write_text("def get_config(:\n")
    (root / "a_file").write_text("not a directory")
    return root


BASE = "--config=configs/baseline.py"
BAD_INPUTS = {
    "unknown model": ([BASE, "--config.model=resnet999"], "model='resnet999' is unknown"),
    "unknown optimizer": ([BASE, "--config.optimizer=adamax"], "optimizer='adamax' is unknown"),
    "unknown schedule": ([BASE, "--config.schedule=linear"], "schedule='linear' is unknown"),
    "unknown activation": ([BASE, "--config.activation=gelu"], "activation='gelu' is unknown"),
    "unknown augmentation": ([BASE, "--config.augment.rotate=10"], "config field augment.rotate does not exist"),
    "negative learning rate": ([BASE, "--config.learning_rate=-0.1"], "learning_rate=-0.1 must be > 0"),
    "zero learning rate": ([BASE, "--config.learning_rate=0"], "learning_rate=0.0 must be > 0"),
    "dropout outside [0, 1)": (
        [BASE, "--config.model_options.dense_dropout=1.5"],
        "dense_dropout=1.5 must be in [0, 1)",
    ),
    "batch size 0": ([BASE, "--config.batch_size=0"], "batch_size=0 must be > 0"),
    "negative batch size": ([BASE, "--config.batch_size=-32"], "batch_size=-32 must be > 0"),
    "batch larger than the train set": (
        [BASE, "--config.train_limit=100", "--config.batch_size=128"],
        "batch_size=128 is larger than the 90 training examples",
    ),
    "zero epochs": ([BASE, "--config.num_epochs=0"], "num_epochs=0 must be > 0"),
    "negative epochs": ([BASE, "--config.num_epochs=-3"], "num_epochs=-3 must be > 0"),
    "val_fraction 0": ([BASE, "--config.val_fraction=0"], "val_fraction=0.0 must be in (0, 1)"),
    "val_fraction above 1": ([BASE, "--config.val_fraction=1.5"], "val_fraction=1.5 must be in (0, 1)"),
    "missing config file": (
        ["--config=configs/no_such_config.py"],
        "config file configs/no_such_config.py does not exist",
    ),
    "empty config file": (["--config={root}/empty.py"], "has no attribute 'get_config'"),
    "broken config file": (["--config={root}/broken.py"], "SyntaxError"),
    "unknown field override": ([BASE, "--config.learning_rat=0.1"], 'did you mean "learning_rate"'),
    "wrong type override": ([BASE, "--config.batch_size=abc"], "flag --config.batch_size=abc"),
    "missing dataset": ([BASE, "--config.data_dir=/nonexistent"], "apt-get install dataset-fashion-mnist"),
    "dataset file of the wrong size": ([BASE, "--config.data_dir={root}/wrong_size"], "truncated or corrupted"),
    "wrong IDX magic": ([BASE, "--config.data_dir={root}/wrong_magic"], "IDX magic 00000803, expected 00000801"),
    "bad checksum": ([BASE, "--config.data_dir={root}/bad_checksum"], "fails its SHA-256 check"),
    "workdir is a file": ([BASE, "--workdir={root}/a_file"], "is a file, not a directory"),
    "workdir cannot be created": ([BASE, "--workdir=/proc/fmnist_run"], "cannot be created"),
    "unknown nan policy": ([BASE, "--config.nan_policy=ignore"], "nan_policy='ignore' is unknown"),
}


@pytest.fixture(scope="module")
def bad_input_runs(broken_data_dirs, tmp_path_factory) -> dict[str, subprocess.CompletedProcess]:
    """Every case of BAD_INPUTS through the real command line, three at a time: each is a fresh
    Python process whose time goes to importing JAX, single-threaded."""
    root = tmp_path_factory.mktemp("bad_input_workdirs")

    def run(case: str) -> subprocess.CompletedProcess:
        args = [arg.format(root=broken_data_dirs) for arg in BAD_INPUTS[case][0]]
        if not any(arg.startswith("--workdir") for arg in args):
            args.append(f"--workdir={root / case.replace(' ', '_')}")
        return run_cli("fmnist_jax.main", *args)

    with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
        return dict(zip(BAD_INPUTS, pool.map(run, BAD_INPUTS), strict=True))


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_gives_one_line_error(case, bad_input_runs):
    expected = BAD_INPUTS[case][1]
    result = bad_input_runs[case]
    assert result.returncode == 2, result.stderr[-1000:]
    assert "Traceback" not in result.stderr
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1 and expected in error_lines[0], result.stderr[-1000:]


def test_a_checkpoint_of_another_model_is_refused_and_kept(tmp_path):
    workdir = tmp_path / "run"
    trained = run_cli(
        "fmnist_jax.main", BASE, f"--workdir={workdir}", "--config.train_limit=1500", "--config.num_epochs=1"
    )
    assert trained.returncode == 0, trained.stderr[-1000:]
    before = sorted(p.relative_to(workdir) for p in pathlib.Path(workdir).rglob("*"))
    other = run_cli(
        "fmnist_jax.main",
        "--config=configs/b_lenet5.py",
        f"--workdir={workdir}",
        "--config.train_limit=1500",
        "--config.num_epochs=2",
    )
    assert other.returncode == 2 and "Traceback" not in other.stderr
    assert "holds a run with" in other.stderr and "use another --workdir" in other.stderr
    assert sorted(p.relative_to(workdir) for p in pathlib.Path(workdir).rglob("*")) == before
