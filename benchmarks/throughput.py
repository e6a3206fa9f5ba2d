"""Throughput and step time of every architecture at several batch sizes, on whatever device JAX sees.

  python -m benchmarks.throughput [--models=lenet5,cnn_a] [--batch_sizes=32,128,512,2048]
      [--steps=50] [--ensemble_members=1,4,16] [--ensemble_models=lenet5] [--out=DIR] [--quick]

Per architecture (its report's config) x batch size:
- compile_s: ahead-of-time compile of the real on-device epoch (lax.scan over `steps` batches);
- step_ms p10 / median / p90: the jitted train step called `steps` times after 5 warm-up calls,
  `block_until_ready` after each (this includes per-call dispatch, which the epoch program avoids);
- epoch_step_ms and images_per_s: the real epoch program (state donated, as a run calls it): the
  median of 3 epochs after the first, with their min-max; the first epoch's images/s apart (it pays
  buffer allocation and first-touch costs), as benchmarks.compare reports it too;
- eval_images_per_s: the eval program over the test set;
- train_flops: FLOPs of one train step from XLA's cost analysis of the compiled step, the achieved
  FLOP/s in the epoch, and its fraction of the peak: the data sheet's where PEAK_FLOPS knows the
  device, else (CPUs) the fp32 matmul rate measured at the start of the run (2048 x 2048, best of 5);
- memory_bytes: device memory in use after the run, where the backend reports it (not on CPU);
- ensemble rows (--ensemble_members, batch 128): images/s of N members in one program (the members
  program a run on this backend picks: interleave on CPU, vmap elsewhere), and against N one-member epochs,
  the programs timed in turns so that each ratio compares epochs of the same rounds (median, min-max).
Markdown on stdout (last); JSON and CSV in --out.
"""

from __future__ import annotations

import pathlib
import statistics
import time
from collections.abc import Sequence
from typing import Any

import jax
import numpy as np
import tqdm
from absl import app, flags

from benchmarks import common
from fmnist_jax import data, ensemble, plots, train
from fmnist_jax.run import timed_compile

_MODELS = flags.DEFINE_list("models", list(common.ARCHITECTURE_CONFIGS), "Registered architectures to measure.")
_BATCH_SIZES = flags.DEFINE_list("batch_sizes", ["32", "128", "512", "2048"], "Batch sizes.")
_STEPS = flags.DEFINE_integer("steps", 50, "Timed steps (and steps per timed epoch).")
_ENSEMBLE_MEMBERS = flags.DEFINE_list(
    "ensemble_members", ["1", "4", "16"], "Vmapped ensemble sizes (batch 128); empty (`--ensemble_members=`) for none."
)
_ENSEMBLE_MODELS = flags.DEFINE_list(
    "ensemble_models", [], "Architectures that get the ensemble rows (default: every one of --models)."
)
_OUT = flags.DEFINE_string("out", "", "Folder for throughput.json and throughput.csv.")
_QUICK = flags.DEFINE_boolean("quick", False, "Tiny settings for a smoke test: lenet5 and mlp, batch 32, 5 steps.")

# Peak dense float32 FLOP/s of known devices (vendor data sheets; FP32 without tensor cores):
# H100 SXM 67 TFLOP/s, H200 67 TFLOP/s, A100 19.5 TFLOP/s. CPUs vary too much to list.
PEAK_FLOPS = {
    "NVIDIA H100 80GB HBM3": 67e12,
    "NVIDIA H200": 67e12,
    "NVIDIA A100-SXM4-80GB": 19.5e12,
    "NVIDIA A100-SXM4-40GB": 19.5e12,
}
WARMUP_STEPS = 5
EPOCH_REPEATS = 3  # timed epochs after the first; the table gives their median and min-max


def _setup(config: Any, batch_size: int, steps: int, images: np.ndarray, labels: np.ndarray, members: int = 1):
    config.batch_size = batch_size
    model, state, options = common.training_setup(config, steps, members)
    count = batch_size * steps
    repeats = -(-count // len(images))
    x = jax.device_put(np.tile(images, (repeats, 1, 1))[:count])
    y = jax.device_put(np.tile(labels, repeats)[:count])
    return model, state, options, x, y


def peak_flops_per_s(quick: bool) -> tuple[float, str]:
    """(peak FLOP/s, where it comes from): the data sheet's for a known device, else measured."""
    device_kind = jax.devices()[0].device_kind
    if device_kind in PEAK_FLOPS:
        return PEAK_FLOPS[device_kind], f"data sheet, {device_kind}"
    size = 512 if quick else 2048
    return common.matmul_flops_per_s(size), f"measured fp32 matmul {size}x{size}"


def measure(name: str, batch_size: int, steps: int, fmnist: data.FashionMNIST, peak: float) -> dict[str, Any]:
    config = common.load_config(common.ARCHITECTURE_CONFIGS[name])
    model, state, options, x, y = _setup(config, batch_size, steps, fmnist.train_images, fmnist.train_labels)
    timing, state = common.time_epochs(train.make_train_epoch(options), state, x, y, repeats=EPOCH_REPEATS)
    compile_s, epoch_s, images = timing.compile_s, timing.median_s, steps * batch_size

    step = (
        jax.jit(train.train_step, static_argnums=4)
        .lower(state, x[:batch_size], y[:batch_size], jax.random.PRNGKey(0), options)
        .compile()
    )
    flops = common.compiled_flops(step)
    step_s = []
    batch_x, batch_y = x[:batch_size], y[:batch_size]
    for index in range(WARMUP_STEPS + steps):
        key = jax.random.PRNGKey(index)
        start = time.perf_counter()
        state, metrics = step(state, batch_x, batch_y, key)
        jax.block_until_ready(metrics)
        step_s.append(time.perf_counter() - start)
    step_ms = 1e3 * np.asarray(step_s[WARMUP_STEPS:])

    test_x, test_y = jax.device_put(fmnist.test_images), jax.device_put(fmnist.test_labels)
    variables = train.model_variables(state)
    evaluate, _ = timed_compile(train.make_evaluate(model.apply, 1000), variables, test_x, test_y)
    jax.block_until_ready(evaluate(variables, test_x, test_y))
    start = time.perf_counter()
    jax.block_until_ready(evaluate(variables, test_x, test_y))
    eval_s = time.perf_counter() - start

    achieved = flops * steps / epoch_s if flops else None
    return {
        "model": name,
        "config": common.ARCHITECTURE_CONFIGS[name],
        "batch_size": batch_size,
        "compile_s": compile_s,
        "step_ms_p10": float(np.percentile(step_ms, 10)),
        "step_ms_median": float(statistics.median(step_ms)),
        "step_ms_p90": float(np.percentile(step_ms, 90)),
        "epoch_step_ms": 1e3 * epoch_s / steps,
        "images_per_s": images / epoch_s,
        "images_per_s_min": images / timing.max_s,
        "images_per_s_max": images / timing.min_s,
        "first_epoch_images_per_s": images / timing.first_epoch_s,
        "eval_images_per_s": len(fmnist.test_labels) / eval_s,
        "train_flops": flops,
        "achieved_flops_per_s": achieved,
        "fraction_of_peak": achieved / peak if achieved else None,
        "memory_bytes": common.device_memory_bytes(),
    }


def measure_ensembles(name: str, members_list: Sequence[int], steps: int, fmnist: data.FashionMNIST) -> list[dict]:
    """N members of the architecture in one program (as a run on this backend trains them) for each N,
    timed in turns with one member's epoch: "vs N x one member" is the median over rounds of
    N x (one member's epoch s) / (N members' epoch s) in the same round, so the machine's drift between
    moments (10-25 % on a shared VM) does not read as a cost or a gain of the ensemble."""
    config = common.load_config(common.ARCHITECTURE_CONFIGS[name])
    program = ensemble.resolve_members_program(config.members_program, config.parallel)
    programs = []
    for members in [1, *members_list]:  # first, the one-member reference every ratio divides by
        _, state, options, x, y = _setup(config, 128, steps, fmnist.train_images, fmnist.train_labels, members)
        programs.append(common.members_epoch_program(options, members, program, config.interleaved_members, state))
    (reference, *timings), _ = common.time_epochs_in_turns(programs, x, y, EPOCH_REPEATS)
    rows = []
    for members, timing in zip(members_list, timings, strict=True):
        ratios = [members * one_s / all_s for one_s, all_s in zip(reference.epoch_s, timing.epoch_s, strict=True)]
        rows.append(
            {
                "model": name,
                "members": members,
                "program": program if members > 1 else "single",
                "images_per_s": members * steps * 128 / timing.median_s,
                "speedup_vs_sequential": statistics.median(ratios),
                "speedup_vs_sequential_min": min(ratios),
                "speedup_vs_sequential_max": max(ratios),
            }
        )
    return rows


COLUMNS = [
    ("model", "model", ""),
    ("batch_size", "batch", "d"),
    ("compile_s", "compile s", ".1f"),
    ("step_ms_p10", "step ms p10", ".2f"),
    ("step_ms_median", "step ms median", ".2f"),
    ("step_ms_p90", "step ms p90", ".2f"),
    ("epoch_step_ms", "epoch ms/step", ".2f"),
    ("images_per_s", "images/s (median)", ",.0f"),
    ("images_per_s_min", "min", ",.0f"),
    ("images_per_s_max", "max", ",.0f"),
    ("first_epoch_images_per_s", "first epoch images/s", ",.0f"),
    ("eval_images_per_s", "eval images/s", ",.0f"),
    ("train_flops", "MFLOP/step", ".3g"),
    ("achieved_flops_per_s", "GFLOP/s", ".3g"),
    ("fraction_of_peak", "of peak", ".1%"),
    ("memory_bytes", "memory B", ",d"),
]


def _progress_line(row: dict[str, Any]) -> str:
    peak_share = f", {row['fraction_of_peak']:.1%} of peak" if row["fraction_of_peak"] else ""
    return (
        f"{row['model']} batch {row['batch_size']}: {row['images_per_s']:,.0f} images/s "
        f"({row['epoch_step_ms']:.2f} ms/step in the epoch program{peak_share}), compile {row['compile_s']:.1f} s"
    )


def main(argv: list[str]) -> None:
    del argv
    models = ["lenet5", "mlp"] if _QUICK.value else _MODELS.value
    batch_sizes = [32] if _QUICK.value else [int(b) for b in _BATCH_SIZES.value]
    steps = 5 if _QUICK.value else _STEPS.value
    members_list = [1, 2] if _QUICK.value else [int(n) for n in _ENSEMBLE_MEMBERS.value]
    ensemble_models = _ENSEMBLE_MODELS.value or models
    fmnist = data.load_fashion_mnist()
    peak, peak_source = peak_flops_per_s(_QUICK.value)  # first, on the otherwise idle machine
    rows, ensemble_rows = [], []
    with tqdm.tqdm(
        total=len(models) * len(batch_sizes) + len(ensemble_models) * len(members_list), desc="throughput", disable=None
    ) as progress:
        for name in models:
            for batch_size in batch_sizes:
                rows.append(measure(name, batch_size, steps, fmnist, peak))
                progress.update()
                print(_progress_line(rows[-1]), flush=True)  # a run cut short by a time limit keeps these
            if name in ensemble_models:
                ensemble_rows += measure_ensembles(name, members_list, steps, fmnist)
                progress.update(len(members_list))
                for row in ensemble_rows[-len(members_list) :]:
                    print(
                        f"{name} x {row['members']} members: {row['images_per_s']:,.0f} images/s, "
                        f"{row['speedup_vs_sequential']:.2f} x N one-member epochs in the same rounds",
                        flush=True,
                    )
    for row in rows:  # display MFLOP and GFLOP/s
        row["train_flops"] = row["train_flops"] / 1e6 if row["train_flops"] else None
        row["achieved_flops_per_s"] = row["achieved_flops_per_s"] / 1e9 if row["achieved_flops_per_s"] else None
    header = common.machine_header(f"throughput; peak {peak / 1e9:,.0f} GFLOP/s ({peak_source})")
    common.write_outputs(_OUT.value, "throughput", header, rows + ensemble_rows)
    if _OUT.value:  # beside the tables: images/s against batch size, and ensemble scaling
        plots.plot_throughput(rows, ensemble_rows, pathlib.Path(_OUT.value) / "throughput.png", header)
    print(header + "\n")
    print(common.markdown_table(rows, COLUMNS))
    if not ensemble_rows:
        return
    print(
        "\nEnsembles (batch 128): images/s of N members in one program (as a run on this backend trains them),"
        " and N one-member epochs' time over the N members' epoch, paired by round (1.00: as fast as N separate"
        " runs; above 1 is cheaper; the N = 1 row times the one-member program against itself: the noise)\n"
    )
    print(
        common.markdown_table(
            ensemble_rows,
            [
                ("model", "model", ""),
                ("members", "members N", "d"),
                ("program", "members program", ""),
                ("images_per_s", "images/s (all members)", ",.0f"),
                ("speedup_vs_sequential", "vs N x one member (median)", ".2f"),
                ("speedup_vs_sequential_min", "min", ".2f"),
                ("speedup_vs_sequential_max", "max", ".2f"),
            ],
        )
    )


if __name__ == "__main__":
    app.run(main)
