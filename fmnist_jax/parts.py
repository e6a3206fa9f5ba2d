"""An ensemble trained in parts: runs of consecutive seeds, merged into the results of one run of all.

  python -m fmnist_jax.parts --workdir=runs/cnn5 [--num_seeds=15 [--first_seed=0]]

Report E's 15-member cnn5 ensemble is about 12 CPU-hours on 2 cores: longer than a working session,
and the machine (with the run's checkpoints) is not always kept from one session to the next. So it
trains in parts, each an ordinary run of consecutive seeds in WORKDIR/parts/seeds_<first>-<last>:

  python -m fmnist_jax.main --config=configs/e_cnn5.py --config.seed=3 --config.num_seeds=2 \\
      --workdir=runs/cnn5/parts/seeds_03-04

Member k of a run trains from seed `seed + k` alone (its init, dropout and shuffling), and on CPU the
members run one after another, so a member is the same model, bit for bit, whichever part trains it
(tests/test_parts.py checks it). Every run writes its members' test logits (test_logits.npz) beside
results.json; this command reads the parts' results.json and logits and writes WORKDIR/results.json
as one run of all the seeds would have: each member's numbers side by side, their mean, std and 95 %
interval, the ensemble's vote and mean-probability accuracy over every member, one history with
every member's curves, and `parts` saying which run (commit, command, machine) trained which seeds.
"""

from __future__ import annotations

import json
import pathlib
import re
from typing import Any

import numpy as np
from absl import app, flags, logging

from fmnist_jax import cli, data, ensemble, environment, loop, metrics, plots
from fmnist_jax import workdir as run_files
from fmnist_jax.errors import UserError

PARTS_DIR = "parts"  # under the ensemble's workdir: one run folder per part
_PART_FOLDER = re.compile(r"seeds_(\d+)-(\d+)")
# Config fields in which the parts of one ensemble may differ: which seeds each trains, and those a resumed
# run may change too (how it is checkpointed, logged, described), except its length and its test scoring.
_PART_FIELDS = frozenset({"seed", "num_seeds"} | (loop.RESUMABLE_FIELD_CHANGES - {"num_epochs", "test_time_flip"}))
# Per-member metrics of a history entry (loop._epoch_entry); a one-member run records them as scalars.
_MEMBER_METRICS = (
    "train_loss",
    "train_accuracy",
    "val_loss",
    "val_accuracy",
    "train_loss_with_penalty",
    "val_loss_with_penalty",
)


def part_folder_name(first_seed: int, num_seeds: int) -> str:
    """The folder of the part training seeds first_seed .. first_seed + num_seeds - 1."""
    return f"seeds_{first_seed:02d}-{first_seed + num_seeds - 1:02d}"


def seed_ranges_to_train(
    workdir: pathlib.Path, first_seed: int, num_seeds: int, seeds_per_part: int
) -> list[tuple[int, int]]:
    """(first seed, number of seeds) of each part still to train: the ensemble's seeds that no finished
    part in workdir/parts holds (a part of any size counts, e.g. five seeds trained on a GPU), in runs of
    consecutive seeds cut into parts of at most seeds_per_part."""
    if seeds_per_part < 1:
        raise UserError(f"seeds_per_part={seeds_per_part} must be at least 1.")
    covered = set()
    for folder in finished_parts(workdir):
        first, last = (int(seed) for seed in _PART_FOLDER.fullmatch(folder.name).groups())
        covered.update(range(first, last + 1))
    ranges: list[tuple[int, int]] = []
    for seed in range(first_seed, first_seed + num_seeds):
        if seed in covered:
            continue
        if ranges and ranges[-1][0] + ranges[-1][1] == seed and ranges[-1][1] < seeds_per_part:
            ranges[-1] = (ranges[-1][0], ranges[-1][1] + 1)
        else:
            ranges.append((seed, 1))
    return ranges


def finished_parts(workdir: pathlib.Path) -> list[pathlib.Path]:
    """The part folders under workdir/parts that hold a results.json, by first seed."""
    found = []
    for folder in (workdir / PARTS_DIR).glob("seeds_*"):
        match = _PART_FOLDER.fullmatch(folder.name)
        if match and (folder / run_files.RESULTS_FILE).exists():
            found.append((int(match.group(1)), folder))
    return [folder for _, folder in sorted(found)]


def _read_part(folder: pathlib.Path) -> tuple[dict[str, Any], np.ndarray, np.ndarray]:
    """A part's results.json and its members' test logits (members, examples, classes) and labels."""
    results_path, logits_path = folder / run_files.RESULTS_FILE, folder / run_files.TEST_LOGITS_FILE
    try:
        results = json.loads(results_path.read_text())
    except json.JSONDecodeError as e:
        raise UserError(
            f"{results_path} is not valid JSON ({e}): restore it from git or train that part again."
        ) from None
    if results["config"]["sweep"]["learning_rate"] or results["config"]["sweep"]["weight_decay"]:
        raise UserError(f"{folder} is a sweep: only ensembles of seeds are trained in parts.")
    try:
        with np.load(logits_path) as saved:
            logits, labels = saved["logits"], saved["labels"]
    except (OSError, KeyError, ValueError) as e:
        raise UserError(
            f"{logits_path} is missing or unreadable ({e}): train that part again (a run writes it since the "
            "parts were introduced) or evaluate it with --config.eval_only=True."
        ) from None
    seeds = [results["config"]["seed"], results["config"]["seed"] + results["num_members"] - 1]
    if folder.name != part_folder_name(seeds[0], results["num_members"]):
        raise UserError(
            f"{folder} holds seeds {seeds[0]}-{seeds[1]} (its results.json's config): rename it "
            f"{part_folder_name(seeds[0], results['num_members'])}."
        )
    if logits.shape[0] != results["num_members"]:
        raise UserError(f"{logits_path} holds {logits.shape[0]} members, its results.json {results['num_members']}.")
    return results, logits, labels


def _check_parts_fit(parts: list[dict[str, Any]], folders: list[pathlib.Path], num_seeds: int, first_seed: int) -> None:
    """The parts are one config's runs of consecutive, non-overlapping seed ranges: seeds first_seed ..
    first_seed + num_seeds - 1 (num_seeds 0: from the first part's seed on, as many as they hold)."""
    first = parts[0]["config"]
    start = first_seed if num_seeds else first["seed"]
    expected_seed = start
    for results, folder in zip(parts, folders, strict=True):
        config = results["config"]
        for field in sorted(set(config) | set(first)):
            if field not in _PART_FIELDS and config.get(field) != first.get(field):
                raise UserError(
                    f"part {folder} has {field}={config.get(field)!r}, part {folders[0]} {first.get(field)!r}: the "
                    "parts of one ensemble differ only in their seeds; train that part again with the same config."
                )
        if config["seed"] != expected_seed:
            raise UserError(
                f"part {folder} starts at seed {config['seed']}, but seed {expected_seed} comes first: "
                f"train seeds {expected_seed}-{config['seed'] - 1} (a part in "
                f"{folder.parent / part_folder_name(expected_seed, config['seed'] - expected_seed)}) first."
                if config["seed"] > expected_seed
                else f"part {folder} overlaps the seeds of the parts before it: remove one of them."
            )
        expected_seed += config["num_seeds"]
    trained = expected_seed - start
    if num_seeds and trained != num_seeds:
        raise UserError(
            f"the parts in {folders[0].parent} cover {trained} of --num_seeds={num_seeds} seeds "
            f"({start}-{expected_seed - 1}): train seeds {expected_seed}-{start + num_seeds - 1} first."
        )


def _member_values(entry: dict[str, Any], name: str, num_members: int) -> list[Any] | None:
    if f"{name}_per_member" in entry:
        return list(entry[f"{name}_per_member"])
    if name in entry:
        return [entry[name]] if num_members == 1 else None
    return None


def merge_histories(histories: list[list[dict[str, Any]]], members: list[int]) -> list[dict[str, Any]]:
    """One history of all the parts' members, epoch by epoch, as one run of them all records it
    (loop._epoch_entry under the map program): a part that stopped (every member's patience spent)
    counts its members as stopped there, train metrics None, validation metrics those of its last epoch.
    An epoch's time is the sum of the parts' (the map program trains its members one after another)."""
    merged = []
    for epoch in range(1, max(len(history) for history in histories) + 1):
        entry: dict[str, Any] = {"epoch": epoch}
        per_member: dict[str, list[Any]] = {}
        trained, epoch_time_s, val_time_s, learning_rate = 0, 0.0, 0.0, None
        for history, num_members in zip(histories, members, strict=True):
            ran = epoch <= len(history)
            part_entry = history[epoch - 1] if ran else history[-1]
            for name in _MEMBER_METRICS:
                values = _member_values(part_entry, name, num_members)
                if values is None:
                    continue
                if name.startswith("train_") and not ran:
                    values = [None] * num_members
                per_member.setdefault(name, []).extend(values)
            if ran:
                trained += part_entry.get("members_trained", num_members)
                epoch_time_s += part_entry["epoch_time_s"]
                val_time_s += part_entry["val_time_s"]
                learning_rate = part_entry.get("learning_rate", learning_rate)
        for name, values in per_member.items():
            counted = [value for value in values if value is not None]
            # The float32 mean, as loop._epoch_entry takes it of the members' float32 metrics.
            entry[name] = float(np.asarray(counted, np.float32).mean()) if counted else None
        for name, values in per_member.items():
            entry[f"{name}_per_member"] = values
        entry["members_trained"] = trained
        entry.update(learning_rate=learning_rate, epoch_time_s=epoch_time_s, val_time_s=val_time_s)
        merged.append(entry)
    return merged


def merge(folders: list[pathlib.Path], num_seeds: int = 0, first_seed: int = 0) -> dict[str, Any]:
    """The results of one run of every part's members (test_metrics: of the mean-probability ensemble,
    as one run's). The parts must cover seeds first_seed .. first_seed + num_seeds - 1 (num_seeds 0:
    whatever consecutive seeds they cover)."""
    if not folders:
        raise UserError("no finished part to merge: train the parts first (fmnist_jax/parts.py says how).")
    read = [_read_part(folder) for folder in folders]
    parts = [results for results, _, _ in read]
    _check_parts_fit(parts, folders, num_seeds, first_seed)
    labels = read[0][2]
    if any(not np.array_equal(part_labels, labels) for _, _, part_labels in read):
        raise UserError(f"the parts in {folders[0].parent} were scored on different test sets: train them on one.")
    logits = np.concatenate([part_logits for _, part_logits, _ in read])
    members = [results["num_members"] for results in parts]
    test_loss = np.array([loss for r in parts for loss in metrics.per_member(r, "test_loss")])
    test_accuracy = np.array([accuracy for r in parts for accuracy in metrics.per_member(r, "test_accuracy")])
    test, mean_probability = ensemble.member_test_results(test_loss, test_accuracy, logits, labels)
    ensemble_log_probability = np.log(np.maximum(mean_probability, 1e-30))  # as run.results_on_test_set
    test["test_metrics"] = metrics.evaluation_metrics(labels, ensemble_log_probability, data.CLASS_NAMES)
    if all("test_loss_with_penalty" in r for r in parts):  # each part's is its members' mean: weigh by members
        test["test_loss_with_penalty"] = float(
            np.average([r["test_loss_with_penalty"] for r in parts], weights=members)
        )

    first = parts[0]
    num_members = int(sum(members))
    config = {**first["config"], "num_seeds": num_members}
    history = merge_histories([r["history"] for r in parts], members)
    train_time_s = float(sum(r["train_time_s"] for r in parts))
    member_images = first["steps_per_epoch"] * config["batch_size"]
    trained_images = sum(metrics.members_trained(entry, num_members) for entry in history) * member_images
    best_epoch = [epoch for r in parts for epoch in metrics.per_member(r, "best_epoch")]
    best_val = [accuracy for r in parts for accuracy in metrics.per_member(r, "best_val_accuracy")]
    results = {
        "config": config,
        "model": first["model"],
        "num_seeds": num_members,
        "num_members": num_members,
        **{field: first[field] for field in ("num_params", "num_batch_stats", "num_train_examples")},
        **{field: first[field] for field in ("num_val_examples", "num_test_examples", "steps_per_epoch")},
        "epochs_trained": len(history),
        "stopped_early": all(r["stopped_early"] for r in parts),
        "history": history,
        **test,
        "compile_time_s": float(sum(r["compile_time_s"] for r in parts)),
        "train_time_s": train_time_s,
        "step_time_ms": 1e3 * train_time_s / max(len(history) * first["steps_per_epoch"], 1),
        "images_per_s": trained_images / train_time_s if train_time_s else 0.0,
        "median_epoch_images_per_s": float(np.median([r["median_epoch_images_per_s"] for r in parts])),
        "device": first["device"],
        "parallel": first["parallel"],
        "versions": first["versions"],
        # Who merged (this command); `parts` says who trained which seeds.
        "provenance": environment.provenance(),
        "parts": [_part_record(folder, r) for folder, r in zip(folders, parts, strict=True)],
        "trained_by": [segment for r in parts for segment in r.get("trained_by", [])],
        "best_epoch_per_member": best_epoch,
        "best_val_accuracy_per_member": best_val,
        "best_val_accuracy": float(np.mean(best_val)),
    }
    return results


def _part_record(folder: pathlib.Path, results: dict[str, Any]) -> dict[str, Any]:
    seeds = [results["config"]["seed"], results["config"]["seed"] + results["num_members"] - 1]
    return {
        "folder": folder.name,
        "seeds": seeds,
        "epochs_trained": results["epochs_trained"],
        "train_time_s": results["train_time_s"],
        "median_epoch_images_per_s": results["median_epoch_images_per_s"],
        "checkpoint_epoch": results["checkpoint_epoch"],
        "device": results["device"],
        "versions": results["versions"],
        "provenance": results["provenance"],
        "finished_at": results["finished_at"],
    }


def merged_is_current(workdir: pathlib.Path) -> dict[str, Any] | None:
    """workdir's merged results.json where it merged exactly the finished parts there now, else None."""
    path = workdir / run_files.RESULTS_FILE
    if not path.exists():
        return None
    results = json.loads(path.read_text())
    merged = [(part["folder"], part["finished_at"]) for part in results.get("parts", [])]
    on_disk = [
        (folder.name, json.loads((folder / run_files.RESULTS_FILE).read_text())["finished_at"])
        for folder in finished_parts(workdir)
    ]
    return results if merged and merged == on_disk else None


def merge_into(workdir: pathlib.Path, num_seeds: int = 0, first_seed: int = 0) -> dict[str, Any]:
    """Merges workdir/parts/* into workdir/results.json (with curves.png and confusion_matrix.png);
    a merge of the same parts already there is returned as it is."""
    current = merged_is_current(workdir)
    if current is not None and (
        not num_seeds or (current["num_seeds"], current["config"]["seed"]) == (num_seeds, first_seed)
    ):
        return current
    folders = finished_parts(workdir)
    if not folders:
        raise UserError(
            f"{workdir / PARTS_DIR} holds no finished part (a folder seeds_<first>-<last> with a results.json): "
            "train the parts first (`python -m fmnist_jax.parts --help` says how)."
        )
    results = merge(folders, num_seeds, first_seed)
    run_files.write_json(workdir / run_files.RESULTS_FILE, results)
    title = f"{results['model']} ({workdir.name}, {results['num_members']} members in {len(results['parts'])} parts)"
    plots.plot_curves(
        results["history"], workdir / "curves.png", title, [(f"mean of {results['num_seeds']} seeds", slice(None))]
    )
    plots.plot_confusion_matrix(
        np.asarray(results["test_metrics"]["confusion_matrix"]),
        data.CLASS_NAMES,
        workdir / "confusion_matrix.png",
        f"{title}, ensemble (mean probability), test accuracy {results['ensemble_test_accuracy_mean_prob']:.4f}",
    )
    logging.info(
        "%s: %d members, test %.4f +- %.4f; ensemble %.4f (mean probability), %.4f (vote)",
        workdir,
        results["num_members"],
        results["test_accuracy_mean"],
        results["test_accuracy_std"],
        results["ensemble_test_accuracy_mean_prob"],
        results["ensemble_test_accuracy_vote"],
    )
    return results


def define_flags() -> None:
    """Defined only when run as a program: the suite imports this module, and --workdir is its flag too."""
    flags.DEFINE_string("workdir", None, "The ensemble's folder: its parts are in WORKDIR/parts/seeds_<a>-<b>/.")
    flags.DEFINE_integer("num_seeds", 0, "How many seeds the parts must cover (0: whatever they cover).")
    flags.DEFINE_integer("first_seed", 0, "With --num_seeds: the ensemble's first seed (its config's seed).")
    flags.mark_flag_as_required("workdir")


@cli.exit_on_user_error
def main(argv: list[str]) -> None:
    cli.begin(argv)
    workdir = pathlib.Path(flags.FLAGS.workdir)
    results = merge_into(workdir, flags.FLAGS.num_seeds, flags.FLAGS.first_seed)
    print(
        json.dumps(
            {
                "results": str(workdir / run_files.RESULTS_FILE),
                "num_members": results["num_members"],
                "test_accuracy_mean": results["test_accuracy_mean"],
                "test_accuracy_std": results["test_accuracy_std"],
                "ensemble_test_accuracy_vote": results["ensemble_test_accuracy_vote"],
                "ensemble_test_accuracy_mean_prob": results["ensemble_test_accuracy_mean_prob"],
            }
        )
    )


if __name__ == "__main__":
    define_flags()
    app.run(main, flags_parser=cli.parse_flags)
