"""Report E's hyperparameter searches by successive halving, on the vmapped trainer.

  python -m fmnist_jax.search --space=mlp --workdir=runs/search_mlp [--num_trials=27] [--eta=3]
      [--min_epochs=1] [--max_epochs=27] [--train_limit=N] [--num_seeds=1] [--seed=0]

A trial is one architecture sampled from the space (layers, widths, dropout, ...) with all of the
space's learning rates as a vmapped sweep (`config.sweep.learning_rate`): one program trains the
architecture at every learning rate. Successive halving: every trial trains `min_epochs`; the best
1/eta of them (by validation accuracy, never test) train on to eta times as many epochs, resuming
from their checkpoints; and so on until `max_epochs` or one trial is left. A trial's score at a
rung is its best sweep point's mean (over seeds) best validation accuracy within the rung's epochs,
read from the run's history, so re-running the command skips finished work and gives the same table.

Writes DIR/trials.md, trials.csv, search.json (every trial, every rung) and DIR/best_config.py: the
best trial with its best learning rate, a config for `python -m fmnist_jax.main --config=...`.

Spaces (Report E; *chosen* readings in the docstrings of sample_mlp and sample_cnn):
- mlp: 2-6 hidden layers of {32, 64, 128, 256, 512} units, dropout {0, .1, .2, .3}, lr {1e-2, 1e-3, 1e-4};
- cnn: 4 conv blocks, filters {16, 32} then {32, 64, 128} x 3, kernel {3, 5}, first pool {2, 4},
  dropout 0-0.5, lr log-uniform in [1e-4, 1e-2] (3 per trial).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import pathlib
import time
from typing import Any

import numpy as np
import tqdm
from absl import app, flags, logging

from fmnist_jax import cli, experiment
from fmnist_jax import workdir as run_files
from fmnist_jax.config_base import CONFIG_DIR, config_from_file
from fmnist_jax.errors import UserError

SPACES = ("mlp", "cnn")


@dataclasses.dataclass(frozen=True)
class Trial:
    """One sampled architecture: the base config it changes, and the changes."""

    index: int
    base: str
    changes: dict[str, Any]

    @property
    def name(self) -> str:
        return f"trial_{self.index:02d}"

    def config(self, *, num_epochs: int, train_limit: int, num_seeds: int) -> Any:
        config = config_from_file(CONFIG_DIR / f"{self.base}.py")
        for field, value in self.changes.items():
            target, _, leaf = field.rpartition(".")
            (config[target] if target else config)[leaf] = value
        config.num_epochs = num_epochs
        config.early_stopping_patience = 0  # the rungs decide who stops
        config.train_limit = train_limit
        config.num_seeds = num_seeds
        return config


def sample_mlp(index: int, rng: np.random.Generator) -> Trial:
    """Report E's MLP space on its MLP (configs/e_mlp_small.py: batch 128, Adam). Each hidden layer
    draws its own width *(chosen: as a Keras Tuner loop over layers does)*; one dropout for all."""
    num_layers = int(rng.integers(2, 7))
    return Trial(
        index,
        "e_mlp_small",
        {
            "model_options.widths": tuple(int(rng.choice([32, 64, 128, 256, 512])) for _ in range(num_layers)),
            "model_options.dropout": float(rng.choice([0.0, 0.1, 0.2, 0.3])),
            "sweep.learning_rate": (1e-2, 1e-3, 1e-4),
        },
    )


def sample_cnn(index: int, rng: np.random.Generator) -> Trial:
    """Report E's CNN space on its block CNN (configs/e_cnn4.py: conv -> bn -> relu -> pool -> drop
    blocks, dense 192). *Chosen*: four blocks; the pool choice is the first pool's window, and a
    4x4 first pool replaces the first two 2x2 pools (both leave 7x7 after the pooled blocks);
    the dropout is the conv blocks' (the dense layer keeps cnn4's 0.5), rounded to 0.05; three
    learning rates per trial, log-uniform."""
    first_pool = int(rng.choice([2, 4]))
    learning_rates = sorted(float(f"{10 ** rng.uniform(-4, -2):.2g}") for _ in range(3))
    return Trial(
        index,
        "e_cnn4",
        {
            "model_options.filters": (
                int(rng.choice([16, 32])),
                *(int(rng.choice([32, 64, 128])) for _ in range(3)),
            ),
            "model_options.kernel_size": int(rng.choice([3, 5])),
            "model_options.first_pool": first_pool,
            "model_options.pooled_blocks": 2 if first_pool == 2 else 1,
            "model_options.conv_dropout": round(float(rng.uniform(0.0, 0.5)) * 20) / 20,
            "sweep.learning_rate": tuple(dict.fromkeys(learning_rates)),  # distinct values only
        },
    )


SAMPLERS = {"mlp": sample_mlp, "cnn": sample_cnn}


def sample_trials(space: str, num_trials: int, seed: int) -> list[Trial]:
    rng = np.random.default_rng(seed)
    return [SAMPLERS[space](index, rng) for index in range(num_trials)]


def rung_plan(min_epochs: int, max_epochs: int, eta: int, num_trials: int) -> list[tuple[int, int]]:
    """(epochs, trials) of each rung: min_epochs * eta**r epochs (at most max_epochs) for the best
    ceil(n / eta**r) trials, until max_epochs or a single trial."""
    plan = [(min(min_epochs, max_epochs), num_trials)]
    while plan[-1][0] < max_epochs and plan[-1][1] > 1:
        plan.append((min(plan[-1][0] * eta, max_epochs), math.ceil(plan[-1][1] / eta)))
    return plan


def score_at(results: dict[str, Any], epochs: int) -> tuple[float, int]:
    """(score, best sweep point) after `epochs` epochs, from the history: per point, the mean over
    its seeds of each member's best validation accuracy so far; the best point's value."""
    history = results["history"][:epochs]
    per_member = np.asarray(
        [
            entry["val_accuracy_per_member"] if "val_accuracy_per_member" in entry else [entry["val_accuracy"]]
            for entry in history
        ]
    )
    best_per_member = per_member.max(axis=0)
    num_points = len(results.get("sweep_points", [None]))
    per_point = best_per_member.reshape(num_points, -1).mean(axis=1)
    return float(per_point.max()), int(per_point.argmax())


def successive_halving(
    trials: list[Trial],
    root: pathlib.Path,
    *,
    eta: int,
    min_epochs: int,
    max_epochs: int,
    train_limit: int,
    num_seeds: int,
) -> list[dict[str, Any]]:
    """Runs the rungs; returns one row per trial: its changes and its score at every rung it reached."""
    rows = {trial.index: {"trial": trial.name, "base": trial.base, **trial.changes, "scores": []} for trial in trials}
    alive = list(trials)
    plan = rung_plan(min_epochs, max_epochs, eta, len(trials))
    with tqdm.tqdm(total=sum(size for _, size in plan), desc="search", unit="trial-rung", disable=None) as bar:
        for rung, (epochs, size) in enumerate(plan):
            alive = alive[:size]
            scored = []
            for trial in alive:
                config = trial.config(num_epochs=epochs, train_limit=train_limit, num_seeds=num_seeds)
                results = experiment.train_and_evaluate(config, str(root / trial.name))
                score, point = score_at(results, epochs)
                learning_rate = config.sweep.learning_rate[point]
                rows[trial.index]["scores"].append({"rung": rung, "epochs": epochs, "val_accuracy": score})
                rows[trial.index]["best_learning_rate"] = learning_rate
                scored.append((score, trial))
                bar.update()
            logging.info("rung %d (%d epochs): %s", rung, epochs, ", ".join(f"{t.name} {s:.4f}" for s, t in scored))
            alive = [trial for _, trial in sorted(scored, key=lambda pair: -pair[0])]  # best first
    return [rows[trial.index] for trial in trials]


def best_row(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The trial that reached the last rung with the highest score there."""
    deepest = max(len(row["scores"]) for row in rows)
    return max(
        (row for row in rows if len(row["scores"]) == deepest), key=lambda row: row["scores"][-1]["val_accuracy"]
    )


def write_best_config(path: pathlib.Path, row: dict[str, Any], header: str) -> None:
    """A config file: the base config with the best trial's changes and learning rate."""
    changes = {key: value for key, value in row.items() if key.startswith("model_options.")}
    lines = [
        f'"""{header}',
        "",
        f"Best trial: {row['trial']}, validation accuracy {row['scores'][-1]['val_accuracy']:.4f} after "
        f"{row['scores'][-1]['epochs']} epochs.",
        '"""',
        "",
        "from fmnist_jax.config_base import CONFIG_DIR, config_from_file",
        "",
        "",
        "def get_config():",
        f"    config = config_from_file({str(CONFIG_DIR / (row['base'] + '.py'))!r})",
        *(f"    config.{field} = {value!r}" for field, value in changes.items()),
        f"    config.learning_rate = {row['best_learning_rate']!r}",
        "    return config",
        "",
    ]
    path.write_text("\n".join(lines))


def _markdown(rows: list[dict[str, Any]], header: str, schedule: list[int]) -> str:
    fields = [key for key in rows[0] if key not in ("trial", "base", "scores", "best_learning_rate")]
    lines = [
        header,
        "",
        "| trial | "
        + " | ".join(f.removeprefix("model_options.") for f in fields)
        + " | best lr | "
        + " | ".join(f"val acc. @{e} ep." for e in schedule)
        + " |",
        "|---" * (len(fields) + 2 + len(schedule)) + "|",
    ]
    for row in sorted(rows, key=lambda r: (-len(r["scores"]), -r["scores"][-1]["val_accuracy"])):
        scores = [f"{100 * s['val_accuracy']:.2f}" for s in row["scores"]] + ["-"] * (
            len(schedule) - len(row["scores"])
        )
        values = [str(row[f]) for f in fields]
        lines.append(
            f"| {row['trial']} | "
            + " | ".join(values)
            + f" | {row['best_learning_rate']:g} | "
            + " | ".join(scores)
            + " |"
        )
    return "\n".join(lines) + "\n"


def run_search(
    root: pathlib.Path,
    space: str,
    *,
    num_trials: int,
    eta: int,
    min_epochs: int,
    max_epochs: int,
    train_limit: int,
    num_seeds: int,
    seed: int,
) -> dict[str, Any]:
    if num_trials < 1 or eta < 2 or not 1 <= min_epochs <= max_epochs:
        raise UserError(
            f"search needs --num_trials >= 1, --eta >= 2 and 1 <= --min_epochs <= --max_epochs; got "
            f"{num_trials}, {eta}, {min_epochs}, {max_epochs}."
        )
    root = run_files.prepare(str(root))
    trials = sample_trials(space, num_trials, seed)
    schedule = [epochs for epochs, _ in rung_plan(min_epochs, max_epochs, eta, num_trials)]
    rows = successive_halving(
        trials,
        root,
        eta=eta,
        min_epochs=min_epochs,
        max_epochs=max_epochs,
        train_limit=train_limit,
        num_seeds=num_seeds,
    )
    best = best_row(rows)
    header = (
        f"# fmnist_jax search: Report E {space} space, successive halving, {num_trials} trials, eta {eta}, rungs of "
        f"{schedule} epochs, {num_seeds} seed(s){f', first {train_limit} training examples' if train_limit else ''}, "
        f"seed {seed}; scores are validation accuracy (the test set chose nothing); {time.strftime('%Y-%m-%d')}"
    )
    summary = {"header": header, "rungs": schedule, "trials": rows, "best": best}
    run_files.write_json(root / "search.json", summary)
    run_files.write_text(root / "trials.md", _markdown(rows, header, schedule))
    table = io.StringIO(newline="")
    writer = csv.writer(table)
    writer.writerow(["trial", "changes", "best_learning_rate", *(f"val_accuracy_{e}_epochs" for e in schedule)])
    for row in rows:
        changes = {k: v for k, v in row.items() if k not in ("trial", "base", "scores", "best_learning_rate")}
        writer.writerow(
            [
                row["trial"],
                json.dumps(changes),
                row["best_learning_rate"],
                *(s["val_accuracy"] for s in row["scores"]),
            ]
        )
    run_files.write_text(root / "trials.csv", table.getvalue())
    write_best_config(root / "best_config.py", best, header.removeprefix("# "))
    return summary


def define_flags() -> None:
    """The command line's flags; defined only when run as a program (the suite defines --workdir too)."""
    flags.DEFINE_enum("space", "mlp", list(SPACES), "Report E's search space: mlp or cnn.")
    flags.DEFINE_string("workdir", None, "Directory for one workdir per trial and the tables.")
    flags.DEFINE_integer("num_trials", 27, "Architectures sampled at the first rung.")
    flags.DEFINE_integer("eta", 3, "Keep the best 1/eta trials at each rung, and train them eta times longer.")
    flags.DEFINE_integer("min_epochs", 1, "Epochs of the first rung.")
    flags.DEFINE_integer("max_epochs", 27, "Epochs of the last rung (at most).")
    flags.DEFINE_integer("train_limit", 0, "Use only the first N training examples (0: all).")
    flags.DEFINE_integer("num_seeds", 1, "Seeds per (architecture, learning rate), vmapped.")
    flags.DEFINE_integer("seed", 0, "Seed of the sampling of architectures (and of the CNN learning rates).")
    flags.mark_flag_as_required("workdir")


@cli.exit_on_user_error
def main(argv: list[str]) -> None:
    cli.begin(argv)
    options = flags.FLAGS
    root = pathlib.Path(options.workdir)
    summary = run_search(
        root,
        options.space,
        num_trials=options.num_trials,
        eta=options.eta,
        min_epochs=options.min_epochs,
        max_epochs=options.max_epochs,
        train_limit=options.train_limit,
        num_seeds=options.num_seeds,
        seed=options.seed,
    )
    print((root / "trials.md").read_text())
    print(f"best: {summary['best']['trial']} -> {root / 'best_config.py'}")


if __name__ == "__main__":
    define_flags()
    app.run(main, flags_parser=cli.parse_flags)
