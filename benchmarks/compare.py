"""JAX (this engine) against PyTorch, eager and `torch.compile`d, on the same models, data, batch size and optimizer.

  python -m benchmarks.compare [--models=lenet5,cnn_a,cnn_d,block_cnn] [--batch_sizes=32,128] [--epochs=1]
      [--repeats=3] [--min_timed_s=2] [--train_limit=0] [--torch_compile=true] [--out=DIR]

Each framework trains on the first `train_limit` (0: all 60,000) training images for a first epoch
and then `epochs` more with the config's Adam learning rate (and more while those add up to less than
`min_timed_s`: a LeNet-5 epoch on a slice lasts 0.4 s, one noisy sample), back to back in this process,
then evaluates on the 10,000 test images. Throughput is that of the median epoch after the first (the
steady state, measured as benchmarks.throughput measures it: JAX's epoch program with the state
donated, each call on the state the last returned); the first epoch's images/s is reported apart. Compile
time is reported apart too: JAX's ahead-of-time compile of the epoch program, and for PyTorch one
warm-up step (the model and optimizer are restored to their state before it, so every framework
trains the same number of steps): that step is where `torch.compile` compiles. The test accuracies
show that the speed is not bought with different math (the frameworks draw different initial weights
and batch orders, so they agree only to within a seed's spread). Needs the optional `bench` extra
(PyTorch); `torch.compile` needs a C++ compiler on CPU, and a failure to compile is reported in the
table, not hidden.

Each measurement is repeated `--repeats` times (each repeat a fresh model, and for JAX a fresh
compile): the table gives the median images/s with the min-max over repeats, the JAX / PyTorch ratio
of the medians, the same ratio per repeat (JAX and PyTorch timed back to back: a slow moment of the
machine falls on both) as its median and min-max, and a ratio over a 2-epoch run with JAX's compile
time and first epoch charged (what one short run pays; PyTorch's warm-up step and first epoch are
charged the same way).
PyTorch runs on the device JAX runs on: CUDA when JAX is on a GPU (it refuses to compare a GPU
against a CPU).
"""

from __future__ import annotations

import statistics
from typing import Any

import jax
from absl import app, flags

from benchmarks import common, frameworks
from fmnist_jax import data

_MODELS = flags.DEFINE_list("models", ["lenet5", "cnn_a", "cnn_d", "block_cnn"], "Architectures with a PyTorch twin.")
_BATCH_SIZES = flags.DEFINE_list("batch_sizes", ["32", "128"], "Batch sizes.")
_EPOCHS = flags.DEFINE_integer("epochs", 1, "Steady-state epochs each framework trains after its first epoch.")
_TRAIN_LIMIT = flags.DEFINE_integer("train_limit", 0, "First N training images (0: all).")
_REPEATS = flags.DEFINE_integer("repeats", 3, "Repeats of every measurement (median and min-max reported).")
_MIN_TIMED_S = flags.DEFINE_float(
    "min_timed_s", 2.0, "Each run times more steady epochs while those timed add up to less than this."
)
_TORCH_COMPILE = flags.DEFINE_boolean("torch_compile", True, "Also time torch.compile (inductor) models.")
_OUT = flags.DEFINE_string("out", "", "Folder for compare.json and compare.csv.")


def main(argv: list[str]) -> None:
    del argv
    # Every repeat compiles from scratch in both frameworks (PyTorch's side: frameworks.run_torch), so
    # "compile s" is what a first run pays, not a load from an on-disk cache a user may or may not have.
    jax.config.update("jax_enable_compilation_cache", False)
    torch_description = frameworks.torch_description("compare")
    fmnist = data.load_fashion_mnist()
    limit = _TRAIN_LIMIT.value or len(fmnist.train_labels)
    header = common.machine_header(f"jax vs {torch_description}, {_REPEATS.value} repeats")
    rows = []
    for name in _MODELS.value:
        for batch_size in map(int, _BATCH_SIZES.value):
            args = (name, batch_size, _EPOCHS.value, fmnist, limit)
            timed = {"min_timed_s": _MIN_TIMED_S.value}
            # Interleaved repeats: a slow moment of the machine hits every framework alike.
            repeats = [
                (
                    frameworks.run_jax(*args, **timed),
                    frameworks.run_torch(*args, compiled=False, **timed),
                    frameworks.run_torch_compiled(*args, **timed) if _TORCH_COMPILE.value else {},
                )
                for _ in range(_REPEATS.value)
            ]
            ours = frameworks.median_of([r[0] for r in repeats])
            eager = frameworks.median_of([r[1] for r in repeats])
            compiled = frameworks.median_of([r[2] for r in repeats]) if _TORCH_COMPILE.value else {}
            row = {
                "model": name,
                "batch_size": batch_size,
                "epochs": _EPOCHS.value,
                "min_timed_s": _MIN_TIMED_S.value,
                "repeats": _REPEATS.value,
                "jax_images_per_s": ours["images_per_s"],
                "jax_images_per_s_range": ours["images_per_s_range"],
                "torch_images_per_s": eager["images_per_s"],
                "torch_images_per_s_range": eager["images_per_s_range"],
                "jax_over_torch": ours["images_per_s"] / eager["images_per_s"],
                **paired_ratio("jax_over_torch_paired", [(r[0], r[1]) for r in repeats]),
                "jax_steady_epochs": ours["steady_epochs"],
                "torch_steady_epochs": eager["steady_epochs"],
                "jax_over_torch_with_compile": ours["images_per_s_with_compile"] / eager["images_per_s_with_compile"],
                "jax_images_per_s_with_compile": ours["images_per_s_with_compile"],
                "jax_first_epoch_images_per_s": ours["first_epoch_images_per_s"],
                "torch_first_epoch_images_per_s": eager["first_epoch_images_per_s"],
                "jax_compile_s": ours["compile_s"],
                "jax_test_accuracy": ours["test_accuracy"],
                "torch_test_accuracy": eager["test_accuracy"],
            }
            if compiled:
                row.update(
                    torch_compiled_images_per_s=compiled["images_per_s"],
                    torch_compiled_images_per_s_range=compiled["images_per_s_range"],
                    jax_over_torch_compiled=(
                        ours["images_per_s"] / compiled["images_per_s"] if compiled["images_per_s"] else None
                    ),
                    **paired_ratio("jax_over_torch_compiled_paired", [(r[0], r[2]) for r in repeats]),
                    torch_compile_s=compiled["warmup_s"],
                    torch_compiled_test_accuracy=compiled["test_accuracy"],
                    torch_compile_error=compiled.get("error"),
                )
            rows.append(row)
            common.write_outputs(_OUT.value, "compare", header, rows)  # a run cut short keeps its rows
            compiled_part = ""
            if compiled and row["torch_compiled_images_per_s"] is None:
                compiled_part = ", torch.compile failed (see the table's note)"
            elif compiled:
                compiled_part = (
                    f", torch.compile {row['torch_compiled_images_per_s']:,.0f}"
                    f" (compile {row['torch_compile_s']:.1f} s)"
                )
            print(
                f"{name} batch {batch_size}: jax {row['jax_images_per_s']:,.0f} images/s "
                f"(compile {row['jax_compile_s']:.1f} s), torch eager {row['torch_images_per_s']:,.0f}{compiled_part}; "
                f"jax / eager {row['jax_over_torch']:.2f}",
                flush=True,
            )
    for row in rows:  # "median (min-max)" cells
        for prefix in ("jax", "torch", "torch_compiled"):
            median, spread = row.get(f"{prefix}_images_per_s"), row.get(f"{prefix}_images_per_s_range")
            if median is not None and spread is not None:
                row[f"{prefix}_cell"] = f"{median:,.0f} ({spread[0]:,.0f}-{spread[1]:,.0f})"
        for prefix in ("jax_over_torch_paired", "jax_over_torch_compiled_paired"):
            median, spread = row.get(prefix), row.get(f"{prefix}_range")
            if median is not None and spread is not None:
                row[f"{prefix}_cell"] = f"{median:.2f} ({spread[0]:.2f}-{spread[1]:.2f})"
    print(
        header + f", {limit} training images, a first epoch then {_EPOCHS.value} timed epoch(s) or more, "
        f"at least {_MIN_TIMED_S.value:g} s of them\n"
    )
    columns = [
        ("model", "model", ""),
        ("batch_size", "batch", "d"),
        ("jax_cell", "jax images/s (min-max)", ""),
        ("torch_cell", "torch eager images/s (min-max)", ""),
        ("jax_over_torch", "jax / eager", ".2f"),
        ("jax_over_torch_paired_cell", "jax / eager per repeat (min-max)", ""),
        ("jax_over_torch_with_compile", "jax / eager, compile incl.", ".2f"),
    ]
    if _TORCH_COMPILE.value:
        columns += [
            ("torch_compiled_cell", "torch.compile images/s (min-max)", ""),
            ("jax_over_torch_compiled", "jax / compiled", ".2f"),
            ("jax_over_torch_compiled_paired_cell", "jax / compiled per repeat (min-max)", ""),
        ]
    columns += [
        ("jax_first_epoch_images_per_s", "jax first epoch images/s", ",.0f"),
        ("torch_first_epoch_images_per_s", "eager first epoch images/s", ",.0f"),
        ("jax_compile_s", "jax compile s", ".1f"),
    ]
    if _TORCH_COMPILE.value:
        columns += [("torch_compile_s", "torch.compile s", ".1f")]
    columns += [("jax_test_accuracy", "jax test acc.", ".4f"), ("torch_test_accuracy", "eager test acc.", ".4f")]
    if _TORCH_COMPILE.value:
        columns += [("torch_compiled_test_accuracy", "compiled test acc.", ".4f")]
    print(common.markdown_table(rows, columns))
    for row in rows:
        if row.get("torch_compile_error"):
            print(f"torch.compile failed for {row['model']} batch {row['batch_size']}: {row['torch_compile_error']}")


def paired_ratio(field: str, pairs: list[tuple[dict[str, Any], dict[str, Any]]]) -> dict[str, Any]:
    """{field: median, field_range: (min, max)} of JAX's images/s over the other's, repeat by repeat
    (each pair timed back to back); None where the other failed in any repeat (torch.compile)."""
    ratios = [ours["images_per_s"] / theirs["images_per_s"] for ours, theirs in pairs if theirs.get("images_per_s")]
    if len(ratios) < len(pairs):
        return {field: None, f"{field}_range": None}
    return {field: statistics.median(ratios), f"{field}_range": (min(ratios), max(ratios))}


if __name__ == "__main__":
    app.run(main)
