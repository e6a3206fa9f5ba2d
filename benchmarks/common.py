"""What the benchmark scripts share: configs per architecture, a machine header, table writers."""

from __future__ import annotations

import csv
import dataclasses
import functools
import json
import pathlib
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from fmnist_jax import ensemble, environment, optim, train
from fmnist_jax.config_base import CONFIG_DIR, config_from_file
from fmnist_jax.layers import conv_xla
from fmnist_jax.models import build_model
from fmnist_jax.run import timed_compile

# One config per registered architecture: the report's own setting of that model.
ARCHITECTURE_CONFIGS = {
    "cnn_a": "baseline",
    "lenet5": "b_lenet5",
    "lenet5_padded": "c_lenet5",
    "cnn_d": "d_cnn",
    "mlp": "d_dense_ann",
    "resnet_small": "d_resnet",
    "inception_small": "d_inception",
    "block_cnn": "e_cnn5",
}


def load_config(name: str) -> Any:
    return config_from_file(CONFIG_DIR / f"{name}.py")


def training_setup(config: Any, steps_per_epoch: int, num_members: int = 1) -> tuple[Any, train.TrainState, Any]:
    """(model, initial state, train options) of config, as a run builds them; num_members seeds
    from config.seed on a leading members axis when above 1."""
    config.num_seeds = num_members
    model = build_model(config)
    tx = optim.make_optimizer(config, steps_per_epoch)
    state = ensemble.create_states(model, tx, ensemble.layout_from_config(config))
    return model, state, train.options_from_config(config)


def members_epoch_program(
    options: train.TrainOptions, num_members: int, members_program: str, interleaved_members: int, state: Any
) -> tuple[Callable[..., Any], Any]:
    """(epoch_fn(state_and_mask, images, labels), its first argument): the train epoch of num_members
    members as a run compiles it (`ensemble.train_epoch_over_members`), with every member training; the
    mask of training members is an argument at run time, as a run passes it."""
    epoch = ensemble.train_epoch_over_members(options, num_members, members_program, interleaved_members)

    def epoch_fn(state_and_mask: tuple[Any, jax.Array], images: jax.Array, labels: jax.Array) -> tuple[Any, Any]:
        state, training = state_and_mask
        state, metrics = epoch(state, images, labels, training)
        return (state, training), metrics

    return epoch_fn, (state, np.ones(num_members, bool))


def machine_header(title: str) -> str:
    """One line: what was measured on, with which versions, when."""
    versions = environment.versions()
    return (
        f"# {title}: {environment.device_name()}, jax {versions['jax']}, flax {versions['flax']}, "
        f"{time.strftime('%Y-%m-%d')}"
    )


def markdown_table(rows: Sequence[dict[str, Any]], columns: Sequence[tuple[str, str, str]]) -> str:
    """columns: (field, heading, format spec); a missing or None value prints as '-'."""
    lines = ["| " + " | ".join(heading for _, heading, _ in columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        cells = []
        for field, _, spec in columns:
            value = row.get(field)
            cells.append("-" if value is None else format(value, spec))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


@functools.cache
def run_provenance() -> dict[str, Any]:
    """How this benchmark was made (the commit and whether the tree differed, the command, XLA_FLAGS,
    the machine), read once per process: a benchmark rewrites its outputs after every row, and its own
    earlier rows must not make the tree look changed (committed outputs rewritten read as 'dirty')."""
    return environment.provenance()


def write_outputs(out_dir: str, stem: str, header: str, rows: Sequence[dict[str, Any]]) -> None:
    """JSON (with the header and how it was made) and CSV of the rows under out_dir; nothing when out_dir
    is empty."""
    if not out_dir:
        return
    folder = pathlib.Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    document = {"header": header, "provenance": run_provenance(), "rows": list(rows)}
    (folder / f"{stem}.json").write_text(json.dumps(document, indent=2))
    fields = sorted({field for row in rows for field in row})
    with open(folder / f"{stem}.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def compiled_flops(compiled: Any) -> float | None:
    """FLOPs of one call of a compiled executable, from XLA's cost analysis (None if not reported)."""
    analysis = compiled.cost_analysis()
    if isinstance(analysis, list):  # older jax returned one dict per program
        analysis = analysis[0] if analysis else {}
    flops = (analysis or {}).get("flops")
    return float(flops) if flops and flops > 0 else None


def device_memory_bytes() -> int | None:
    stats = jax.devices()[0].memory_stats()
    return int(stats["bytes_in_use"]) if stats and "bytes_in_use" in stats else None


def matmul_flops_per_s(size: int = 2048, repeats: int = 5) -> float:
    """The machine's measured float32 matmul rate: best of `repeats` (size x size) @ (size x size)
    products, 2 * size**3 FLOPs each, compiled once, clock read after block_until_ready. On a CPU
    this is the practical peak a train step's matmuls can reach (data sheets do not apply)."""
    key_a, key_b = jax.random.split(jax.random.PRNGKey(0))
    a = jax.random.normal(key_a, (size, size), jnp.float32)
    b = jax.random.normal(key_b, (size, size), jnp.float32)
    matmul = jax.jit(jnp.matmul).lower(a, b).compile()
    jax.block_until_ready(matmul(a, b))  # warm-up
    best_s = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(matmul(a, b))
        best_s = min(best_s, time.perf_counter() - start)
    return 2 * size**3 / best_s


def conv_pass_ms(
    lower: Callable[..., jax.Array], x: jax.Array, kernel: jax.Array, padding: str, passes: int, repeats: int
) -> list[float]:
    """ms of one forward-backward pass (output, input and kernel gradients) of lower(x, kernel, padding), for
    each of `repeats` calls that run `passes` of them in one jitted `lax.scan` (after a first call)."""
    grad = jax.grad(lambda k, x: jnp.sum(lower(x, k, padding) ** 2), argnums=(0, 1))

    def run_passes(k: jax.Array, x: jax.Array) -> tuple[jax.Array, jax.Array]:
        def body(carry: tuple[jax.Array, jax.Array], _: None) -> tuple[tuple[jax.Array, jax.Array], None]:
            dk, dx = grad(*carry)  # a tiny step keeps every pass dependent on the last one
            return (carry[0] - 1e-9 * dk, carry[1] - 1e-9 * dx), None

        return jax.lax.scan(body, (k, x), None, length=passes)[0]

    run = jax.jit(run_passes).lower(kernel, x).compile()
    return [1e3 * seconds / passes for seconds in call_seconds(lambda: jax.block_until_ready(run(kernel, x)), repeats)]


def conv_relative_errors(
    lower: Callable[..., jax.Array], x: jax.Array, kernel: jax.Array, padding: str
) -> dict[str, float]:
    """lower(x, kernel, padding) against XLA's convolution: max |difference| / max |reference| of the output
    and of the input and kernel gradients of sum(sin(conv))."""

    def grads(conv: Callable[..., jax.Array]) -> tuple[jax.Array, ...]:
        return jax.grad(lambda x, k: jnp.sum(jnp.sin(conv(x, k, padding))), argnums=(0, 1))(x, kernel)

    pairs = {"y": (conv_xla(x, kernel, padding), lower(x, kernel, padding))}
    pairs["dx"], pairs["dkernel"] = zip(grads(conv_xla), grads(lower), strict=True)
    return {name: float(jnp.max(jnp.abs(ref - got)) / jnp.max(jnp.abs(ref))) for name, (ref, got) in pairs.items()}


def call_seconds(call: Callable[[], Any], repeats: int) -> list[float]:
    """Seconds of each of `repeats` calls after one warm-up call; call() returns once its work is done
    (it blocks until the device is ready)."""
    call()
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - start)
    return seconds


@dataclasses.dataclass(frozen=True)
class EpochTiming:
    """How long the compiled epoch program took: its compile, its first call, then the steady state."""

    compile_s: float
    first_epoch_s: float  # the first call: buffer allocation and first-touch costs, reported apart
    epoch_s: tuple[float, ...]  # every later epoch (the steady state), in order

    @property
    def median_s(self) -> float:
        return statistics.median(self.epoch_s)

    @property
    def min_s(self) -> float:
        return min(self.epoch_s)

    @property
    def max_s(self) -> float:
        return max(self.epoch_s)


def time_epochs(
    epoch_fn: Callable[..., Any],
    state: Any,
    images: jax.Array,
    labels: jax.Array,
    repeats: int,
    min_total_s: float = 0.0,
) -> tuple[EpochTiming, Any]:
    """Times epoch_fn as a run calls it: compiled ahead of time with the state donated, then called
    1 + `repeats` times (and again while the timed calls add up to less than `min_total_s`), each call
    on the state the previous one returned, the clock read after block_until_ready. Returns the timing
    (first call apart) and the final state (`state` itself is donated: use the returned one)."""
    (timing,), (state,) = time_epochs_in_turns([(epoch_fn, state)], images, labels, repeats, min_total_s)
    return timing, state


def _timed_epoch_call(epoch: Any, state: Any, images: jax.Array, labels: jax.Array) -> tuple[Any, float]:
    """One call of a compiled epoch: (the state it returns, its seconds, read once the device is done)."""
    start = time.perf_counter()
    state, metrics = epoch(state, images, labels)
    jax.block_until_ready((state, metrics))
    return state, time.perf_counter() - start


def time_epochs_in_turns(
    programs: Sequence[tuple[Callable[..., Any], Any]],
    images: jax.Array,
    labels: jax.Array,
    rounds: int,
    min_total_s: float = 0.0,
) -> tuple[list[EpochTiming], list[Any]]:
    """Times several epoch programs (epoch_fn, state) against each other: each compiled and called once as
    time_epochs does, then `rounds` rounds of one call of each in turn (A, B, C, A, B, C, ...), so that a slow
    moment of the machine falls on all of them; epoch_s[r] of every timing is from the same round r, and a
    ratio of two programs is best read per round (paired), then its median. More rounds follow while any
    program's timed calls add up to less than `min_total_s` (a short epoch is one noisy sample: this VM's
    LeNet-5 epochs of 0.4 s measured 11,400-18,300 images/s in one process). Returns the timings and each
    program's final state (the states given are donated)."""
    compiled, states, compile_s, first_s = [], [], [], []
    for epoch_fn, state in programs:
        epoch, seconds_to_compile = timed_compile(epoch_fn, state, images, labels, donate=True)
        state, seconds = _timed_epoch_call(epoch, state, images, labels)
        compiled.append(epoch)
        states.append(state)
        compile_s.append(seconds_to_compile)
        first_s.append(seconds)
    epoch_s: list[list[float]] = [[] for _ in programs]
    while len(epoch_s[0]) < rounds or min(sum(seconds) for seconds in epoch_s) < min_total_s:
        for index, epoch in enumerate(compiled):
            states[index], seconds = _timed_epoch_call(epoch, states[index], images, labels)
            epoch_s[index].append(seconds)
    timings = [
        EpochTiming(compile_seconds, first_seconds, tuple(seconds))
        for compile_seconds, first_seconds, seconds in zip(compile_s, first_s, epoch_s, strict=True)
    ]
    return timings, states


def one_epoch_parameters(config_name: str, images: jax.Array, labels: jax.Array) -> list[jax.Array]:
    """The parameters (leaves) after one real train epoch of configs/<config_name>.py from its initial
    state, traced under whatever the caller holds (benchmarks.dropout_draw compares two draws)."""
    config = load_config(config_name)
    _, state, options = training_setup(config, images.shape[0] // config.batch_size)
    state, _ = jax.jit(train.make_train_epoch(options))(state, images, labels)
    return jax.tree_util.tree_leaves(state.params)


def time_config_epoch(config: Any, images: jax.Array, labels: jax.Array, repeats: int) -> dict[str, float]:
    """Compiles and times the real train epoch; returns compile_s, step_ms and images_per_s (of the
    median steady-state epoch)."""
    steps = images.shape[0] // config.batch_size
    _, state, options = training_setup(config, steps)
    epoch_fn = train.make_train_epoch(options)
    timing, _ = time_epochs(epoch_fn, state, images, labels, repeats)
    epoch_s = timing.median_s
    return {
        "compile_s": timing.compile_s,
        "step_ms": 1e3 * epoch_s / steps,
        "images_per_s": steps * config.batch_size / epoch_s,
    }
