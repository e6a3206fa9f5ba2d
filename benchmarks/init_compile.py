"""The initialisation program's compile: XLA:CPU's default LLVM level against level 1, and its values.

  python -m benchmarks.init_compile [--configs=all] [--members=1,3] [--rounds=2] [--out=DIR]

A run starts by compiling one program that draws every member's initial parameters and optimizer state
(`ensemble.init_program`); it runs once, so its compile is all it costs. For each config and number of
members this compiles that program at XLA's default backend optimisation level and at level 1 (what
`ensemble.create_states` uses on CPU: `ensemble.init_compiler_options`), `rounds` times each in turns,
with JAX's persistent compilation cache off and its in-memory caches cleared (each compile a real one),
and runs both: the compile seconds (the best of the rounds) and whether the two initial states are the
same bit for bit. A config whose states differ would be a reason to drop the option; the run ends with
the count of such configs.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

import jax
import numpy as np
from absl import app, flags

from benchmarks import common
from fmnist_jax import ensemble, optim
from fmnist_jax.config_base import config_names_in_report_order
from fmnist_jax.models import build_model

_CONFIGS = flags.DEFINE_list("configs", ["all"], "Config names in configs/, or 'all'.")
_MEMBERS = flags.DEFINE_list("members", ["1", "3"], "Numbers of members (seeds) to initialise.")
_ROUNDS = flags.DEFINE_integer("rounds", 2, "Compiles of each program, in turns (the best counts).")
_OUT = flags.DEFINE_string("out", "", "Folder for init_compile.json and init_compile.csv.")

DEFAULT_LEVEL: dict[str, Any] = {}  # XLA's own options: its default backend optimisation level


def state_digest(state: Any) -> str:
    """SHA-256 over every leaf's bytes, in tree order: equal digests mean the same state bit for bit."""
    leaves = jax.tree_util.tree_leaves(state)
    return hashlib.sha256(b"".join(np.asarray(leaf).tobytes() for leaf in leaves)).hexdigest()


def compare_levels(name: str, config: Any, num_members: int, rounds: int) -> dict[str, Any]:
    """Compile seconds of the initialisation of `config` (called `name` in the table) at the default
    level and with `ensemble.init_compiler_options()`, and whether both compute the same state."""
    config = config.copy_and_resolve_references()
    config.num_seeds = num_members
    layout = ensemble.layout_from_config(config)
    program, args = ensemble.init_program(build_model(config), optim.make_optimizer(config, 10), layout)
    lowered = program.lower(*args)
    options = {"default": DEFAULT_LEVEL, "init options": ensemble.init_compiler_options()}
    seconds: dict[str, list[float]] = {setting: [] for setting in options}
    digests = {}
    for _ in range(rounds):
        for setting, compiler_options in options.items():
            jax.clear_caches()  # JAX keeps compiled programs in memory: without this, a later round loads one
            start = time.perf_counter()
            compiled = lowered.compile(compiler_options=compiler_options)
            seconds[setting].append(time.perf_counter() - start)
            digests[setting] = state_digest(compiled(*args))
    default_s, level1_s = min(seconds["default"]), min(seconds["init options"])
    return {
        "config": name,
        "kernel_init": config.kernel_init,
        "members": layout.num_members,
        "compiler_options": str(options["init options"]),
        "default_compile_s": default_s,
        "options_compile_s": level1_s,
        "speedup": default_s / level1_s,
        "same_bits": digests["default"] == digests["init options"],
    }


def main(argv: list[str]) -> None:
    del argv
    jax.config.update("jax_enable_compilation_cache", False)  # every compile a real one
    names = _CONFIGS.value
    if names == ["all"]:
        names = sorted(config_names_in_report_order())
    header = common.machine_header(f"initialisation compile, best of {_ROUNDS.value}")
    print(header + "\n")
    print("| config | members | default compile s | level-1 compile s | speedup | same bits |")
    print("|---|---:|---:|---:|---:|---|")
    rows = []
    for name in names:
        for members in (int(n) for n in _MEMBERS.value):
            row = compare_levels(name, common.load_config(name), members, _ROUNDS.value)
            rows.append(row)
            print(
                f"| {name} | {row['members']} | {row['default_compile_s']:.2f} | {row['options_compile_s']:.2f} "
                f"| {row['speedup']:.2f} | {'yes' if row['same_bits'] else 'NO'} |",
                flush=True,
            )
        common.write_outputs(_OUT.value, "init_compile", header, rows)
    differing = [f"{row['config']} ({row['members']})" for row in rows if not row["same_bits"]]
    print(f"\n{len(rows) - len(differing)} of {len(rows)} initial states the same bit for bit", end="")
    print(f"; differing: {', '.join(differing)}" if differing else "")


if __name__ == "__main__":
    app.run(main)
