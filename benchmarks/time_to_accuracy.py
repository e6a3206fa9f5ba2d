"""Wall seconds, compile included, for each config to first reach target accuracies.

  python -m benchmarks.time_to_accuracy [--configs=b_lenet5,baseline,e_cnn4,speedrun]
      [--targets=0.90,0.92,0.93,0.94] [--max_epochs=0] [--split=test] [--train_limit=0] [--out=DIR]

Each config trains as `python -m fmnist_jax.main` would (its train split, batch size, schedule,
augmentation; one seed), and after every epoch its model is evaluated on `--split`. The clock
counts what training costs: compiling the epoch program, then every epoch; it stops while the
model is being evaluated (measurement, not training; that time is reported apart). A config runs
its whole fixed schedule (its num_epochs, or `--max_epochs` where smaller): a recipe's accuracy is
its accuracy at the end of that schedule (`final_accuracy`), and each target's time is the first
epoch that crossed it. No "best accuracy over epochs" is reported: on the test split that would be
choosing an epoch by looking at the test set.

`--split=val` measures on the validation split: use it to choose a recipe (the speedrun config
was tuned that way). `--split=test` is for reporting only: the test set must never choose.
"""

from __future__ import annotations

import math
import tempfile
import time
from typing import Any

import jax
import tqdm
from absl import app, flags

from benchmarks import common
from fmnist_jax import parallel, train
from fmnist_jax.run import Run, timed_compile

_CONFIGS = flags.DEFINE_list("configs", ["b_lenet5", "baseline", "e_cnn4", "speedrun"], "Config names in configs/.")
_TARGETS = flags.DEFINE_list("targets", ["0.90", "0.92", "0.93", "0.94"], "Target accuracies (fractions).")
_MAX_EPOCHS = flags.DEFINE_integer("max_epochs", 0, "Epoch cap per config (0: the config's own num_epochs).")
_SPLIT = flags.DEFINE_enum(
    "split", "test", ["test", "val"], "Where accuracy is measured: val to choose, test to report."
)
_TRAIN_LIMIT = flags.DEFINE_integer("train_limit", 0, "Use only the first N training examples (0: all).")
_OUT = flags.DEFINE_string("out", "", "Folder for time_to_accuracy.json and .csv.")


def time_to_accuracy(config: Any, targets: list[float], split: str) -> dict[str, Any]:
    """Trains config epoch by epoch; returns per target the seconds and epoch it was first reached."""
    config.num_seeds = 1
    with tempfile.TemporaryDirectory() as workdir:
        run = Run(config, workdir)
        images, labels = run.put_split(run.splits.train_images, run.splits.train_labels)
        eval_images, eval_labels = (
            run.put_split(run.splits.test_images, run.splits.test_labels)
            if split == "test"
            else run.put_split(run.splits.val_images, run.splits.val_labels)
        )
        state = run.initial_state
        clock_s = 0.0
        start = time.perf_counter()
        train_epoch, compile_s = timed_compile(
            train.make_train_epoch(run.train_options), state, images, labels, donate=True
        )
        clock_s += time.perf_counter() - start
        evaluate, _ = run.compile_evaluate(train.model_variables(state), eval_images, eval_labels)
        reached: dict[float, tuple[float, int]] = {}
        accuracies, clock_per_epoch_s, eval_s = [], [], 0.0
        num_examples = len(eval_labels)
        for epoch in tqdm.trange(1, config.num_epochs + 1, desc=config.model, leave=False, disable=None):
            start = time.perf_counter()
            state, metrics = train_epoch(state, images, labels)
            jax.block_until_ready(metrics)
            clock_s += time.perf_counter() - start
            start = time.perf_counter()
            accuracy = float(
                parallel.to_host(evaluate(train.model_variables(state), eval_images, eval_labels)["accuracy"])
            )
            eval_s += time.perf_counter() - start
            accuracies.append(accuracy)
            clock_per_epoch_s.append(clock_s)
            # Compare counts of correct examples: a float32 mean of 9,000 / 10,000 is 0.89999998 < 0.9.
            num_correct = round(accuracy * num_examples)
            for target in targets:
                if num_correct >= math.ceil(target * num_examples - 1e-6) and target not in reached:
                    reached[target] = (clock_s, epoch)
        run.checkpoints.close()
    row = {
        "batch_size": config.batch_size,
        "params": run.num_params,
        "epochs_run": len(accuracies),
        "final_accuracy": accuracies[-1],  # at the end of the fixed schedule: the recipe's accuracy
        "compile_s": compile_s,
        "train_s": clock_s,
        "eval_s": eval_s,
        "accuracy_per_epoch": accuracies,
        "clock_s_per_epoch": clock_per_epoch_s,
    }
    for target in targets:
        seconds, epoch = reached.get(target, (None, None))
        row[f"s_to_{target:g}"] = seconds
        row[f"epoch_to_{target:g}"] = epoch
    return row


def main(argv: list[str]) -> None:
    del argv
    targets = sorted(float(t) for t in _TARGETS.value)
    rows = []
    for name in _CONFIGS.value:
        config = common.load_config(name)
        config.num_epochs = min(config.num_epochs, _MAX_EPOCHS.value or config.num_epochs)
        config.train_limit = _TRAIN_LIMIT.value or config.train_limit
        config.early_stopping_patience = 0
        row = time_to_accuracy(config, targets, _SPLIT.value)
        row["config"] = name
        rows.append(row)
        print(
            f"{name}: {_SPLIT.value} accuracy {row['final_accuracy']:.4f} after its {row['epochs_run']} epochs, "
            + ", ".join(f"{t:g}: {row[f's_to_{t:g}']}" for t in targets),
            flush=True,
        )
    header = common.machine_header(f"time to {_SPLIT.value} accuracy")
    common.write_outputs(_OUT.value, "time_to_accuracy", header, rows)
    for row in rows:  # "seconds (epoch)" cells
        for target in targets:
            seconds, epoch = row[f"s_to_{target:g}"], row[f"epoch_to_{target:g}"]
            row[f"cell_{target:g}"] = f"{seconds:.0f} s (ep. {epoch})" if seconds is not None else "not reached"
    print(header + f"; clock = compile + training epochs, {_SPLIT.value} evaluation excluded\n")
    columns = [
        ("config", "config", ""),
        ("params", "params", ",d"),
        ("batch_size", "batch", "d"),
        *((f"cell_{t:g}", f"to {100 * t:g} %", "") for t in targets),
        ("final_accuracy", f"{_SPLIT.value} acc. at the end", ".4f"),
        ("epochs_run", "epochs run", "d"),
        ("compile_s", "compile s", ".1f"),
    ]
    print(common.markdown_table(rows, columns))


if __name__ == "__main__":
    app.run(main)
