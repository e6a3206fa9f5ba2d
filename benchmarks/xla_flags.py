"""Does an XLA:CPU compiler flag make the real train epoch faster? Settings measured in turns.

  python -m benchmarks.xla_flags [--configs=b_lenet5,baseline] [--rounds=3] [--num_examples=6400]
      [--settings='|--xla_cpu_use_onednn=true|...'] [--out=DIR]

XLA reads XLA_FLAGS once, when the backend starts, so each setting runs in its own process
(`--child` mode: the timer of benchmarks.conv_lowering on each config's own epoch program and
lowering). The settings take turns, round after round, so that a VM whose speed drifts over
minutes (this one's does, by up to a third) charges the drift to every setting alike; the table
gives each setting's median images/s over the rounds, its min-max, and the median over rounds of
its ratio to the default (the empty setting) measured in the same round. Settings are separated by '|'.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from typing import Any

from absl import app, flags

from benchmarks import common

# The XLA:CPU library paths jaxlib 0.10 ships: oneDNN matmul/conv thunks and XNNPACK fusions (off by
# default), YNNPACK fusions beyond the dots and reductions the default already gives it, XNNPACK's greedy
# subgraph extraction. '--xla_cpu_experimental_ynn_fusion_type=' (empty) turns YNNPACK off altogether.
DEFAULT_SETTINGS = (
    "",
    "--xla_cpu_use_onednn=true --xla_cpu_experimental_onednn_fusion_type=dot,eltwise",
    "--xla_cpu_experimental_ynn_fusion_type=dot,eltwise,reduce,individual_dot,individual_convolution",
    "--xla_cpu_experimental_xnn_fusion_type=dot,eltwise,reduce",
    "--xla_cpu_experimental_xnn_graph_fusion_mode=XNN_GRAPH_FUSION_MODE_GREEDY",
    "--xla_cpu_prefer_vector_width=512",
)

_CONFIGS = flags.DEFINE_list("configs", ["b_lenet5", "baseline"], "Config names in configs/.")
_SETTINGS = flags.DEFINE_string("settings", "|".join(DEFAULT_SETTINGS), "XLA_FLAGS settings, '|' between them.")
_ROUNDS = flags.DEFINE_integer("rounds", 3, "Turns of every setting.")
_NUM_EXAMPLES = flags.DEFINE_integer("num_examples", 6400, "Training examples per timed epoch.")
_REPEATS = flags.DEFINE_integer("repeats", 3, "Timed epochs after the first, per process (their median).")
_OUT = flags.DEFINE_string("out", "", "Folder for xla_flags.json and xla_flags.csv.")
_CHILD = flags.DEFINE_boolean("child", False, "Internal: time the configs once under this process's XLA_FLAGS.")


def _time_configs_here() -> dict[str, dict[str, float]]:
    """config -> compile_s, step_ms, images_per_s of its epoch, under this process's XLA_FLAGS."""
    import jax  # noqa: PLC0415 (the backend, and with it XLA_FLAGS, starts here)

    from fmnist_jax import data  # noqa: PLC0415

    fmnist = data.load_fashion_mnist()
    images = jax.device_put(fmnist.train_images[: _NUM_EXAMPLES.value])
    labels = jax.device_put(fmnist.train_labels[: _NUM_EXAMPLES.value])
    return {
        name: common.time_config_epoch(common.load_config(name), images, labels, _REPEATS.value)
        for name in _CONFIGS.value
    }


def _run(command: list[str], setting: str) -> str:
    """stdout of command run with XLA_FLAGS=setting; a failure ends the benchmark with XLA's last line."""
    done = subprocess.run(command, env={**os.environ, "XLA_FLAGS": setting}, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"error: XLA_FLAGS='{setting}' failed: {done.stderr.strip().splitlines()[-1]}")
    return done.stdout


def _check_setting(setting: str) -> None:
    """A second's check that XLA accepts the setting, before minutes of timing the others."""
    _run([sys.executable, "-c", "import jax; jax.numpy.zeros(1).block_until_ready()"], setting)


def _run_child(setting: str) -> dict[str, dict[str, float]]:
    command = [sys.executable, "-m", "benchmarks.xla_flags", "--child", f"--configs={','.join(_CONFIGS.value)}"]
    command += [f"--num_examples={_NUM_EXAMPLES.value}", f"--repeats={_REPEATS.value}"]
    return json.loads(_run(command, setting).strip().splitlines()[-1])


def summarize(samples: dict[str, list[dict[str, dict[str, float]]]]) -> list[dict[str, Any]]:
    """Rows per (setting, config): median images/s over the rounds with its min-max and every round's
    value, and vs_default: the median over rounds of its images/s over the default's in the same round
    (paired, so that the VM's drift between rounds cancels)."""
    rows = []
    for setting, rounds in samples.items():
        for name in rounds[0]:
            speeds = [measured[name]["images_per_s"] for measured in rounds]
            defaults = [measured[name]["images_per_s"] for measured in samples[""]]
            rows.append(
                {
                    "setting": setting or "(default)",
                    "config": name,
                    "images_per_s": statistics.median(speeds),
                    "min_images_per_s": min(speeds),
                    "max_images_per_s": max(speeds),
                    "images_per_s_per_round": speeds,
                    "vs_default": statistics.median(s / d for s, d in zip(speeds, defaults, strict=True)),
                    "compile_s": statistics.median(measured[name]["compile_s"] for measured in rounds),
                }
            )
    return rows


def main(argv: list[str]) -> None:
    del argv
    if _CHILD.value:
        print(json.dumps(_time_configs_here()))
        return
    settings = _SETTINGS.value.split("|")
    if "" not in settings:
        settings.insert(0, "")  # the default is what every ratio is taken against
    for setting in settings:
        _check_setting(setting)
    samples: dict[str, list[dict[str, dict[str, float]]]] = {setting: [] for setting in settings}
    for round_index in range(_ROUNDS.value):
        for setting in settings:
            samples[setting].append(_run_child(setting))
            print(f"round {round_index + 1}/{_ROUNDS.value} done: '{setting}'", file=sys.stderr, flush=True)
    rows = summarize(samples)
    header = common.machine_header(f"XLA:CPU flags, {_ROUNDS.value} rounds in turns, {_NUM_EXAMPLES.value} images")
    columns = [
        ("setting", "XLA_FLAGS", "s"),
        ("config", "config", "s"),
        ("images_per_s", "images/s (median)", ",.0f"),
        ("min_images_per_s", "min", ",.0f"),
        ("max_images_per_s", "max", ",.0f"),
        ("vs_default", "vs default (paired median)", ".2f"),
        ("compile_s", "compile s", ".1f"),
    ]
    common.write_outputs(_OUT.value, "xla_flags", header, rows)
    print(header + "\n\n" + common.markdown_table(rows, columns))


if __name__ == "__main__":
    app.run(main)
