"""Train every config (or the matching ones) and write the comparison table.

  python -m fmnist_jax.suite --workdir=runs/suite [--only=b_*,c_*] [--profile=cpu|full]
      [--num_seeds=N] [--num_epochs=E] [--train_limit=N]

Each config trains in DIR/<config name> (finished ones are skipped, interrupted ones resume), with
N seeds vmapped in one program. Then DIR/results.md, results.csv and results.json hold one row per
config, sorted by report and then as the report ordered them (the order of configs/README.md),
beside the report's own number; DIR/accuracy_vs_params.png and accuracy_vs_train_time.png plot them.

Profiles: `cpu` (default) caps every config at 3 epochs with 2 seeds, a quick profile of the zoo
(not a reproduction); `full` keeps each config's own epochs with 5 seeds, for a GPU; `campaign` is
the reproduction campaign's plan per config (fmnist_jax/campaign.py: own epochs, 3-15 seeds, Report
D cut; Report E's cnn5 ensembles in parts of a few seeds, merged by parts.py), into results/cpu.
--num_epochs and --num_seeds override the profile.
"""

from __future__ import annotations

import csv
import fnmatch
import io
import json
import pathlib
import time
from typing import Any

import tqdm
from absl import app, flags, logging

from fmnist_jax import campaign, cli, environment, experiment, parallel, parts, plots, results_table, verify
from fmnist_jax import workdir as run_files
from fmnist_jax.config_base import CONFIG_DIR, config_from_file, config_names_in_report_order
from fmnist_jax.errors import UserError

PROFILES = {
    "cpu": {"num_epochs": 3, "num_seeds": 2},
    "full": {"num_epochs": 0, "num_seeds": 5},
    "campaign": {"num_epochs": 0, "num_seeds": 0},  # per config: campaign.plan_for
}

_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for one workdir per config and the tables.")
_ONLY = flags.DEFINE_list("only", [], "Config name patterns (fnmatch, e.g. b_*,baseline); default: all.")
_PROFILE = flags.DEFINE_enum(
    "profile", "cpu", list(PROFILES), "cpu: 3 epochs, 2 seeds; full: configs' epochs, 5 seeds; campaign: its plan."
)
_NUM_SEEDS = flags.DEFINE_integer("num_seeds", 0, "Seeds per config (0: the profile's).")
_NUM_EPOCHS = flags.DEFINE_integer("num_epochs", 0, "Epoch cap per config (0: the profile's).")
_TRAIN_LIMIT = flags.DEFINE_integer("train_limit", 0, "Use only the first N training examples (0: all).")
flags.mark_flag_as_required("workdir")


def select(names: list[str], patterns: list[str]) -> list[str]:
    if not patterns:
        return names
    chosen = [name for name in names if any(fnmatch.fnmatch(name, pattern) for pattern in patterns)]
    if not chosen:
        raise UserError(f"--only={','.join(patterns)} matches no config in {CONFIG_DIR}: see configs/README.md.")
    return chosen


def suite_config(name: str, *, num_epochs_cap: int, num_seeds: int, train_limit: int) -> Any:
    config = config_from_file(CONFIG_DIR / f"{name}.py")
    if num_epochs_cap:
        config.num_epochs = min(config.num_epochs, num_epochs_cap)
    config.num_seeds = num_seeds
    config.train_limit = train_limit or config.train_limit
    return config


def table_row(name: str, results: dict[str, Any]) -> dict[str, Any]:
    """One row of the comparison table from a run's results.json."""
    config = results["config"]
    reference = config["reference"]
    reported_split, reported_accuracy = results_table.reported(reference)
    per_seed = results.get("test_accuracy_per_seed", [results["test_accuracy"]])
    return {
        "report": reference["report"],
        "config": name,
        "variant": reference["variant"],
        "params": results["num_params"],
        "reported_split": reported_split,
        "reported_accuracy": reported_accuracy,
        "test_accuracy_mean": results["test_accuracy"],
        "test_accuracy_std": results.get("test_accuracy_std", 0.0),
        "num_seeds": results.get("num_seeds", len(per_seed)),
        "ensemble_test_accuracy": results.get("ensemble_test_accuracy_mean_prob", results["test_accuracy"]),
        "val_accuracy_mean": results["best_val_accuracy"],
        "epochs": results.get("epochs_trained", len(results["history"])),
        "config_epochs": config["num_epochs"],
        "train_time_s": results["train_time_s"],
        "step_time_ms": results["step_time_ms"],
        "images_per_s": results["images_per_s"],
        "device": environment.device_name(results["device"]),
    }


def _markdown(rows: list[dict[str, Any]], header: str) -> str:
    lines = [
        header,
        "",
        "| report | config | variant | params | report's acc. % | ours test % (mean +- std) | seeds | ensemble % "
        "| epochs | train s | step ms | images/s | device |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['report']} | {r['config']} | {r['variant']} | | | error: {r['error']} | | | | | | | |")
            continue
        reported = f"{100 * r['reported_accuracy']:.2f} ({r['reported_split']})" if r["reported_split"] else "-"
        lines.append(
            f"| {r['report']} | {r['config']} | {r['variant']} | {r['params']:,} | {reported} "
            f"| {100 * r['test_accuracy_mean']:.2f} +- {100 * r['test_accuracy_std']:.2f} | {r['num_seeds']} "
            f"| {100 * r['ensemble_test_accuracy']:.2f} | {r['epochs']}/{r['config_epochs']} | {r['train_time_s']:.0f} "
            f"| {r['step_time_ms']:.2f} | {r['images_per_s']:.0f} | {r['device']} |"
        )
    return "\n".join(lines) + "\n"


def write_tables(root: pathlib.Path, rows: list[dict[str, Any]], header: str) -> None:
    run_files.write_json(root / "results.json", {"header": header, "rows": rows})
    run_files.write_text(root / "results.md", _markdown(rows, header))
    done = [r for r in rows if "error" not in r]
    fields = list(done[0]) if done else ["report", "config", "variant", "error"]
    table = io.StringIO(newline="")
    writer = csv.DictWriter(table, fieldnames=fields + ["error"], extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    run_files.write_text(root / "results.csv", table.getvalue())
    if done and parallel.is_primary():
        plots.plot_accuracy_scatter(done, "params", "parameters", root / "accuracy_vs_params.png", header)
        plots.plot_accuracy_scatter(done, "train_time_s", "train time (s)", root / "accuracy_vs_train_time.png", header)


def train_verified(config: Any, workdir: pathlib.Path) -> dict[str, Any]:
    """Trains (or resumes, or returns) the run in workdir. A result committed without checkpoints comes
    back as it is (experiment.finished_results); with checkpoints, every number in the table comes
    from the models its results.json names (verify re-scores them)."""
    results = experiment.train_and_evaluate(config, str(workdir))
    if (workdir / "checkpoints").exists():
        mismatches = verify.verify_run(workdir)
        if mismatches:
            raise UserError(f"verify found {len(mismatches)} mismatch(es): {mismatches[0]}")
    return results


def train_in_parts(config: Any, workdir: pathlib.Path, seeds_per_part: int) -> dict[str, Any]:
    """config's seeds trained as parts of seeds_per_part seeds (workdir/parts/seeds_<a>-<b>), then merged
    into workdir/results.json (parts.py). Seeds a finished part holds are skipped, whatever its size, so
    each part can be committed as it ends and a later session (or another machine) goes on from there."""
    ranges = parts.seed_ranges_to_train(workdir, config.seed, config.num_seeds, seeds_per_part)
    for first_seed, num_seeds in ranges:
        part = config.copy_and_resolve_references()
        part.seed, part.num_seeds = first_seed, num_seeds
        train_verified(part, workdir / parts.PARTS_DIR / parts.part_folder_name(first_seed, num_seeds))
    return parts.merge_into(workdir, config.num_seeds, config.seed)


def run_suite(
    root: pathlib.Path, names: list[str], *, num_epochs_cap: int, num_seeds: int, train_limit: int, profile: str
) -> list[dict[str, Any]]:
    """Trains each config in root/<name> (skipping finished ones) and writes the tables. With the
    campaign profile each config's seeds and epoch cap come from campaign.plan_for unless given."""
    root = run_files.prepare(str(root))
    order = config_names_in_report_order()
    names = sorted(names, key=lambda name: order.index(name) if name in order else len(order))
    rows = []
    for name in tqdm.tqdm(names, desc="configs", unit="config", disable=None):
        plan = campaign.plan_for(name) if profile == "campaign" else campaign.Plan(num_seeds, num_epochs_cap)
        config = suite_config(
            name,
            num_epochs_cap=num_epochs_cap or plan.num_epochs_cap,
            num_seeds=num_seeds or plan.num_seeds,
            train_limit=train_limit,
        )
        try:
            if plan.seeds_per_part:
                results = train_in_parts(config, root / name, plan.seeds_per_part)
            else:
                results = train_verified(config, root / name)
            rows.append(table_row(name, results))
        except experiment.Interrupted:  # SIGTERM / Ctrl-C stop the whole suite, not just this config.
            raise
        except UserError as e:  # One broken config does not stop the suite; its row says why.
            logging.error("%s: %s", name, e)
            rows.append(
                {
                    "report": config.reference.report,
                    "config": name,
                    "variant": config.reference.variant,
                    "error": str(e),
                }
            )
    device = environment.device_info()
    seeds = f"{num_seeds} seed(s) per config" if num_seeds else "seeds per config as campaign.py plans"
    header = (
        f"# fmnist_jax suite: profile {profile}, epochs capped at {num_epochs_cap or 'the config'}, "
        f"{seeds}{f', first {train_limit} training examples' if train_limit else ''}; "
        f"{environment.device_name(device)}, "
        f"jax {environment.versions()['jax']}, {time.strftime('%Y-%m-%d')}"
    )
    write_tables(root, rows, header)
    return rows


@cli.exit_on_user_error
def main(argv: list[str]) -> None:
    cli.begin(argv)
    profile = PROFILES[_PROFILE.value]
    names = select(config_names_in_report_order(), _ONLY.value)
    if _PROFILE.value == "campaign":
        names = [name for name in names if name not in campaign.EXCLUDED]
    root = pathlib.Path(_WORKDIR.value)
    run_suite(
        root,
        names,
        num_epochs_cap=_NUM_EPOCHS.value or profile["num_epochs"],
        num_seeds=_NUM_SEEDS.value or profile["num_seeds"],
        train_limit=_TRAIN_LIMIT.value,
        profile=_PROFILE.value,
    )
    print((root / "results.md").read_text())
    print(json.dumps({"tables": [str(root / f"results.{ext}") for ext in ("md", "csv", "json")]}))


if __name__ == "__main__":
    app.run(main, flags_parser=cli.parse_flags)
