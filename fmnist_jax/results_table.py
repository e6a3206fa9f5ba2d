"""results/README.md from the campaign's committed results: the reports' numbers beside ours, with verdicts.

  python -m fmnist_jax.results_table [--results_dir=results/cpu] [--out=results/README.md]

Reads results_dir/<config>/results.json (one per config, written by `fmnist_jax.suite --profile=campaign`)
and results_dir/ablations/<config>__<change>/results.json (runs that test why a config falls short),
and writes one table: per config the report's number, ours on the same split as mean +- std (n) with
its 95 % interval, our test accuracy, the ensemble's where there is one, epochs run / configured,
train time, images/s and a verdict; then the ablations, Report C's losses, and how each run was made.
Beside it, reproduction.png: the report's number against ours per config. The markdown is a pure
function of the JSON files, so a test regenerates it and compares it with the committed file.
"""

from __future__ import annotations

import json
import pathlib
from collections.abc import Sequence
from typing import Any

from absl import app, flags

from fmnist_jax import campaign, cli, environment, metrics, parts, plots
from fmnist_jax.config_base import CONFIG_DIR, config_from_file, config_names_in_report_order

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
# Within this much of the report's number (a fraction), or within 2 std of our seeds, is "reproduced".
TOLERANCE = 0.01
# Which epoch's validation accuracy a report gives: Report B its best epoch ("Reported (train / val %,
# best epoch)"); the Keras reports the last epoch's (the history Keras' fit prints at the end). Report E
# gives test numbers only.
REPORT_VAL_EPOCH = {"B": "best"}


def load_results(results_dir: pathlib.Path) -> dict[str, dict[str, Any]]:
    """config name -> its results.json, for every config folder that has one."""
    found = {}
    for path in sorted(results_dir.glob("*/results.json")):
        if path.parent.name != campaign.ABLATIONS_DIR:
            found[path.parent.name] = json.loads(path.read_text())
    return found


def load_ablations(results_dir: pathlib.Path) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """config name -> [(change, results)] from ablations/<config>__<change>/results.json."""
    found: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for path in sorted((results_dir / campaign.ABLATIONS_DIR).glob("*/results.json")):
        name, change = campaign.parse_ablation_folder(path.parent.name)
        found.setdefault(name, []).append((change, json.loads(path.read_text())))
    return found


def test_accuracies(results: dict[str, Any]) -> list[float]:
    """Each member's (k-fold: each fold's) test accuracy in a results.json, in [0, 1]."""
    if "folds" in results:
        return [float(value) for value in results["test_accuracy_per_fold"]]
    return [float(value) for value in metrics.per_member(results, "test_accuracy")]


def reported(reference: dict[str, Any]) -> tuple[str, float]:
    """The report's headline number and its split: test where given, else validation."""
    if reference.get("test_accuracy", -1) > 0:
        return "test", reference["test_accuracy"]
    if reference.get("val_accuracy", -1) > 0:
        return "val", reference["val_accuracy"]
    return "", -1.0


def ours_on(split: str, results: dict[str, Any]) -> list[float]:
    """Our per-seed (or per-fold) accuracies on the split the report gives, measured as it measured them."""
    if "folds" in results:  # k-fold: the best fold's model on test (Report A), or each fold's val
        if split == "test":
            return [results["best_fold_test_accuracy"]]
        return list(results["val_accuracy_per_fold"])
    if split == "test":
        return metrics.per_member(results, "test_accuracy")
    reference = results["config"]["reference"]
    if REPORT_VAL_EPOCH.get(reference["report"]) == "best":
        return metrics.per_member(results, "best_val_accuracy")
    last = results["history"][-1]
    return list(last.get("val_accuracy_per_member", [last["val_accuracy"]]))


def verdict(report_value: float, ours: Sequence[float]) -> str:
    """reproduced: the report's number within 2 std of our mean or within 1 point; else above / below."""
    stats = metrics.mean_std_ci95(ours)
    margin = max(2 * stats["std"], TOLERANCE)
    if abs(stats["mean"] - report_value) <= margin:
        return "reproduced"
    return "above" if stats["mean"] > report_value else "below"


def _pct(value: float) -> str:
    return f"{100 * value:.2f}"


def _spread(values: Sequence[float]) -> tuple[str, str]:
    stats = metrics.mean_std_ci95(values)
    if len(values) < 2:
        return f"{_pct(stats['mean'])} (1)", "-"
    low, high = stats["ci95"]
    return f"{_pct(stats['mean'])} +- {_pct(stats['std'])} ({len(values)})", f"{_pct(low)}-{_pct(high)}"


def median_epoch_images_per_s(results: dict[str, Any]) -> float:
    """metrics.median_epoch_images_per_s over a run's epochs (a k-fold run's: every fold's)."""
    runs = results.get("folds", [results])
    first = runs[0]  # every fold has the same members, steps and batch size
    member_images = first["steps_per_epoch"] * first["config"]["batch_size"]
    epochs = [entry for run in runs for entry in run["history"]]
    return metrics.median_epoch_images_per_s(epochs, member_images, first.get("num_members", 1))


def row(name: str, results: dict[str, Any], ablations: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """One config's line of the table, as plain values (the markdown and the plot both read it)."""
    config = results["config"]
    reference = config["reference"]
    split, report_value = reported(reference)
    ours = ours_on(split or "test", results)
    test = test_accuracies(results)
    own_epochs = _own_epochs(name)
    line = {
        "report": reference["report"],
        "config": name,
        "variant": reference["variant"],
        "split": split,
        "report_value": report_value,
        "ours": ours,
        "test": test,
        "epochs_run": results.get("epochs_trained", len(results["history"])),
        "epochs_configured": config["num_epochs"],
        # The config's own length, where the campaign cut it (Report D: campaign.D_EPOCHS of its 400).
        "epochs_cut_from": own_epochs if own_epochs > config["num_epochs"] else None,
        "train_time_s": results["train_time_s"],
        "images_per_s": median_epoch_images_per_s(results),
        "verdict": verdict(report_value, ours) if split else "no number in the report",
        "notes": reference.get("notes", ""),
        "ensemble": None,
    }
    if reference.get("ensemble_size", 0) > 0 and "ensemble_test_accuracy_vote" in results:
        line["ensemble"] = {
            "size": results["num_members"],
            "report_size": reference["ensemble_size"],
            "report": reference["ensemble_test_accuracy"],
            "vote": results["ensemble_test_accuracy_vote"],
            "mean_prob": results["ensemble_test_accuracy_mean_prob"],
        }
    line["ablations"] = [_ablation_line(name, line["verdict"], split, report_value, *pair) for pair in ablations]
    return line


def _ablation_line(
    name: str, config_verdict: str, split: str, report_value: float, change: str, ablation: dict[str, Any]
) -> dict[str, Any]:
    ours = ours_on(split or "test", ablation)
    ablation_verdict = verdict(report_value, ours) if split else ""
    return {
        "change": change,
        "finding": campaign.FINDINGS.get(campaign.ablation_folder_name(name, change), ""),
        "ours": ours,
        "closes_gap": ablation_verdict == "reproduced",
        # An ablation that ends past the report on the other side shows the change is more than the gap.
        "crosses_gap": {config_verdict, ablation_verdict} == {"below", "above"},
    }


def _own_epochs(name: str) -> int:
    """The epochs configs/<name>.py trains for (the report's), before any campaign cut."""
    path = CONFIG_DIR / f"{name}.py"
    return config_from_file(path).num_epochs if path.exists() else 0


def _epochs_text(line: dict[str, Any]) -> str:
    if line["epochs_cut_from"]:
        return f"{line['epochs_run']}/{line['epochs_configured']} (cut; report: {line['epochs_cut_from']})"
    return f"{line['epochs_run']}/{line['epochs_configured']}"


def _verdict_text(line: dict[str, Any]) -> str:
    """The verdict, and for a config off its report what its ablations showed (one above needs none)."""
    text = line["verdict"]
    if text not in ("below", "above"):
        return text
    if line["epochs_cut_from"]:
        text = f"{text} at the {line['epochs_configured']}-epoch cut"
    closing = [a["change"] for a in line["ablations"] if a["closes_gap"]]
    if closing:
        return f"{text}; {_ablations_doing(closing, 'reproduces', 'reproduce')} it"
    crossing = [a["change"] for a in line["ablations"] if a.get("crosses_gap")]
    if crossing:
        return f"{text}; {_ablations_doing(crossing, 'ends', 'end')} {_other_side(line['verdict'])} it (see Ablations)"
    if line["ablations"]:
        return f"{text}; no ablation closes the gap (see Ablations)"
    return f"{text}; no ablation run yet" if line["verdict"] == "below" else text


def _ablations_doing(changes: list[str], verb_one: str, verb_each: str) -> str:
    """The ablations as a verdict names them: "ablation `a` <verb_one>" for one change, "ablations `a` and
    `b` each <verb_each>" for several."""
    named = " and ".join(f"`{c}`" for c in changes)
    return f"ablation {named} {verb_one}" if len(changes) == 1 else f"ablations {named} each {verb_each}"


def render(results_dir: pathlib.Path) -> tuple[str, list[dict[str, Any]]]:
    """The markdown of results/README.md and the rows it was made from."""
    results = load_results(results_dir)
    ablations = load_ablations(results_dir)
    order = config_names_in_report_order()
    names = sorted(results, key=lambda n: order.index(n) if n in order else len(order))
    rows = [row(name, results[name], ablations.get(name, [])) for name in names]
    missing = [name for name in order if name not in results and name != "speedrun"]
    lines = [
        "# Reproducing the five reports: every config at its own length, over seeds",
        "",
        "Generated by `python -m fmnist_jax.results_table` from `results/cpu/*/results.json` (do not edit by",
        "hand: a test regenerates it). Each config was trained by `python -m fmnist_jax.suite --profile=campaign",
        "--workdir=results/cpu` (seeds and epochs per config in `fmnist_jax/campaign.py`); the command, commit,",
        "machine and library versions of each run are in its results.json and under *How each run was made*.",
        "",
        "- **report's %**: the report's headline number, on test where it gives one, else on validation",
        "  (Report B's val is its best epoch's, as it reports it; the Keras reports' is the last epoch's).",
        "- **ours %**: the same number measured the same way, mean +- std over seeds (n), with the 95 %",
        "  t-interval of the mean; k-fold: the best fold's model (chosen on its validation fold) on test.",
        "- **ours test %**: every config's test accuracy, mean +- std over seeds (k-fold: over folds).",
        f"- **verdict**: *reproduced* when the report's number is within 2 std of our mean or within {_pct(TOLERANCE)}",
        "  point; else *above* or *below*. A config below gets an ablation run that tests the likeliest cause:",
        "  the same command with one change, e.g. `python -m fmnist_jax.main --config=configs/c_lenet5.py",
        "  --config.num_seeds=5 --config.conv_kernel_l2=0 --workdir=results/cpu/ablations/c_lenet5__conv_kernel_l2=0`.",
        f"- **epochs**: run / configured; Report D's block is cut to {campaign.D_EPOCHS} of its 400 epochs (2 CPU",
        "  cores), so its verdicts are at the cut, not at the report's length.",
        "- **train s**: the run's training time by the wall clock (all epochs, all members together). The",
        "  campaign shared the 2 cores with other work at times, and was paused (SIGSTOP) while benchmarks and",
        "  tests ran (c_filters: about 5 minutes of its 2,380 s), so read it as indicative. **images/s**: all",
        "  members' images per second in the run's median epoch, which such an epoch does not move;",
        "  `BENCHMARKS.md` times an idle machine.",
        "",
        "![report vs ours](reproduction.png)",
        "",
        "| report | config | variant | report's % | ours % (mean +- std (n)) | 95 % CI | ours test % | "
        "ensemble % | epochs | train s | images/s | verdict |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for line in rows:
        reported_text = f"{_pct(line['report_value'])} ({line['split']})" if line["split"] else "-"
        ours_text, ci_text = _spread(line["ours"])
        test_text, _ = _spread(line["test"])
        ensemble = line["ensemble"]
        ensemble_text = (
            f"{_pct(ensemble['vote'])} vote, {_pct(ensemble['mean_prob'])} mean-prob of {ensemble['size']} "
            f"(report: {_pct(ensemble['report'])} of {ensemble['report_size']})"
            if ensemble
            else "-"
        )
        lines.append(
            f"| {line['report']} | `{line['config']}` | {line['variant']} | {reported_text} | {ours_text} | "
            f"{ci_text} | {test_text} | {ensemble_text} | {_epochs_text(line)} | "
            f"{line['train_time_s']:.0f} | {line['images_per_s']:.0f} | {_verdict_text(line)} |"
        )
    if missing:
        lines += ["", f"Not yet run in this campaign: {', '.join(_missing_text(results_dir, n) for n in missing)}."]
    orphans = sorted(name for name in ablations if name not in results)
    if orphans:  # an ablation is read against its config's own result: listed here until that result exists
        lines += ["", "Ablations whose config has no result yet (in the Ablations table once it has one):"]
        lines += [_orphan_text(name, change, ablation) for name in orphans for change, ablation in ablations[name]]
    lines += _ablation_section(rows)
    lines += _notes_section(rows)
    lines += _report_c_losses(results, ablations)
    lines += _rerun_section(results_dir)
    lines += _provenance_section(results)
    return "\n".join(lines) + "\n", rows


def _missing_text(results_dir: pathlib.Path, name: str) -> str:
    """A config without results, and for one trained in parts (parts.py) how many of its seeds are done."""
    plan = campaign.plan_for(name)
    if not plan.seeds_per_part:
        return f"`{name}`"
    finished = [
        json.loads((folder / "results.json").read_text()) for folder in parts.finished_parts(results_dir / name)
    ]
    test = [accuracy for results in finished for accuracy in test_accuracies(results)]
    so_far = f"; their test accuracy so far: {_spread(test)[0]} %" if test else ""
    return (
        f"`{name}` ({len(test)} of its {plan.num_seeds} seeds trained, in parts: `{name}/{parts.PARTS_DIR}/`{so_far})"
    )


def _orphan_text(name: str, change: str, ablation: dict[str, Any]) -> str:
    """One line for an ablation whose config has no results.json yet: its test accuracy and its finding."""
    finding = campaign.FINDINGS.get(campaign.ablation_folder_name(name, change), "")
    line = f"- `{name}` with `{change}`: test {_spread(metrics.per_member(ablation, 'test_accuracy'))[0]} %"
    return f"{line}: {finding}" if finding else line


def _ablation_section(rows: list[dict[str, Any]]) -> list[str]:
    tested = [line for line in rows if line["ablations"]]
    if not tested:
        return []
    lines = [
        "",
        "## Ablations: why a config is off its report",
        "",
        "Each is the config with one change, the same seeds and epochs: `results/cpu/ablations/<config>__<change>/`.",
        "A config that reproduces its report can have one too: it checks that a change which explains",
        "another config's gap (a setting the report does not give) leaves this one reproduced.",
        "",
        "| config | report's % | ours % | change | ours with the change % | reproduces the report | what it shows |",
        "|---|---:|---:|---|---:|---|---|",
    ]
    for line in tested:
        for ablation in line["ablations"]:
            lines.append(
                f"| `{line['config']}` | {_pct(line['report_value'])} ({line['split']}) | {_spread(line['ours'])[0]} "
                f"| `{ablation['change']}` | {_spread(ablation['ours'])[0]} | "
                f"{_ablation_outcome(line, ablation)} | {ablation['finding'] or '-'} |"
            )
    return lines


def _other_side(config_verdict: str) -> str:
    """Where an ablation that crosses the report lands: above it for a config below, below for one above."""
    return "above" if config_verdict == "below" else "below"


def _ablation_outcome(line: dict[str, Any], ablation: dict[str, Any]) -> str:
    """'yes' when the ablation reproduces the report, 'no' when it does not, 'no (past it: above)' when it
    lands on the report's other side (the change is more than the gap)."""
    if ablation["closes_gap"]:
        return "yes"
    if ablation.get("crosses_gap"):
        return f"no (past it: {_other_side(line['verdict'])})"
    return "no"


def _notes_section(rows: list[dict[str, Any]]) -> list[str]:
    notes = {}
    for line in rows:
        if line["notes"]:
            notes.setdefault(line["notes"], []).append(line["config"])
    if not notes:
        return []
    lines = ["", "## Notes on the reports' numbers", ""]
    for text, configs in notes.items():
        lines.append(f"- {', '.join(f'`{c}`' for c in configs)}: {text}.")
    return lines


def _report_c_losses(
    results: dict[str, dict[str, Any]], ablations: dict[str, list[tuple[str, dict[str, Any]]]]
) -> list[str]:
    """Report C gives losses as Keras prints them (data loss + the L2 term): ours both ways, last epoch,
    for each config and each of its ablations (a change of the L2 term shows in both columns)."""
    chosen = {n: r for n, r in results.items() if r["config"]["reference"]["report"] == "C"}
    if not chosen:
        return []
    lines = [
        "",
        "## Report C's losses (last epoch, mean over seeds): Keras reports the loss with the L2 term",
        "",
        "| config | report's train / val loss | ours with the L2 term | ours, data loss only |",
        "|---|---:|---:|---:|",
    ]
    for name, res in chosen.items():
        reference = res["config"]["reference"]
        runs = [(f"`{name}`", res)] + [(f"`{name}` with `{change}`", run) for change, run in ablations.get(name, [])]
        for label, run in runs:
            last = run["history"][-1]
            with_penalty = (
                f"{last['train_loss_with_penalty']:.4f} / {last['val_loss_with_penalty']:.4f}"
                if "val_loss_with_penalty" in last
                else "-"
            )
            lines.append(
                f"| {label} | {reference['train_loss']:.4f} / {reference['val_loss']:.4f} | {with_penalty} | "
                f"{last['train_loss']:.4f} / {last['val_loss']:.4f} |"
            )
    return lines


def _rerun_section(results_dir: pathlib.Path) -> list[str]:
    """`python -m fmnist_jax.rerun` checks: a committed config trained again from its own record."""
    checks = [json.loads(path.read_text()) for path in sorted((results_dir / campaign.RERUNS_DIR).glob("*.json"))]
    if not checks:
        return []
    lines = [
        "",
        "## Reruns: a committed config trained again from its results.json",
        "",
        "`python -m fmnist_jax.rerun --results=results/cpu/<config> --workdir=DIR "
        f"--out=results/cpu/{campaign.RERUNS_DIR}`",
        "trains the recorded config again from scratch and compares the mean test accuracy; the issue's bar",
        "is 0.5 points. Fields added to the config since a run was made take the value that run in effect",
        "used where today's default computes differently (`members_program=vmap`: every ensemble vmapped its",
        "members before the field existed; today's `auto` interleaves them on CPU, which rounds differently), else",
        "their defaults. A rerun on another CPU model need not be bit for bit: XLA compiles for the host's",
        "vector units and caches, and a matmul's blocking sets the order of its float sums (`d_dense_ann`: its",
        "committed run's own commit, c3fbddbe, trained on the Intel VM gives the rerun's numbers bit for bit,",
        "so its 0.16 points are the CPU's, not the code's; `b_lenet5`: its own commit, cd699d8f, trained on the",
        "AMD EPYC of family 25 model 1 with AVX2 only gives that rerun's five seeds bit for bit, 89.46 %, so its",
        "-0.25 points are that CPU's too, where the committed run's AMD EPYC (its record does not name the",
        "model) and, on 2026-12-02, the Intel Xeon with AVX-512 gave 89.71 %).",
        "",
        "| config | committed % | rerun % | difference (points) | bit for bit | fields the record lacks "
        "| rerun commit | machine: committed run / rerun |",
        "|---|---:|---:|---:|---|---|---|---|",
    ]
    for check in checks:
        added = ", ".join(f"`{f}={v}`" for f, v in check["fields_added_since_the_committed_run"].items()) or "-"
        committed_on, rerun_on = (_machine_text(check[run]["provenance"]) for run in ("committed", "rerun"))
        lines.append(
            f"| `{check['config']}` | {check['committed']['test_accuracy_mean_percent']:.2f} | "
            f"{check['rerun']['test_accuracy_mean_percent']:.2f} | {check['difference_points']:+.2f} | "
            f"{'yes' if check['bit_for_bit'] else 'no'} | {added} | "
            f"{check['rerun']['provenance'].get('git_commit', '?')[:10]} | "
            f"{committed_on if committed_on == rerun_on else f'{committed_on} / {rerun_on}'} |"
        )
    return lines


def _machine_text(provenance: dict[str, Any]) -> str:
    """The CPU, its cores and memory from a run's provenance record, as "AMD EPYC x2, 23.5 GiB", with the
    CPU's family/model and vector instructions where the record has them (since 2026-12-07):
    "AMD EPYC (25/1, avx2) x2, 23.5 GiB"."""
    machine = provenance.get("machine", {})
    cpu = machine.get("cpu", "?")
    if "cpu_vector_isa" in machine:
        cpu += f" ({machine.get('cpu_family_model', '?')}, {machine['cpu_vector_isa']})"
    return f"{cpu} x{machine.get('cores', '?')}, {machine.get('memory_gib', '?')} GiB"


def _commits_text(made: dict[str, Any], segments: list[dict[str, Any]]) -> str:
    """The commit that wrote results.json, or, for a run resumed under other code, each commit with
    the epochs it trained (epochs from before segments were recorded are named as such)."""
    final = made.get("git_commit", "unknown")[:10] + (" (dirty)" if made.get("git_dirty") else "")
    commits = {segment["git_commit"] for segment in segments}
    if not segments or (commits == {made.get("git_commit")} and segments[0]["epochs"][0] == 1):
        return final  # one commit trained every epoch (or the run predates segments: all we know)
    parts = [
        f"{segment['git_commit'][:10]}{' (dirty)' if segment['git_dirty'] else ''} "
        f"(epochs {segment['epochs'][0]}-{segment['epochs'][1]})"
        for segment in segments
    ]
    first_recorded = segments[0]["epochs"][0]
    if first_recorded > 1:
        parts.insert(0, f"not recorded (epochs 1-{first_recorded - 1})")
    return "; ".join([*parts, f"results.json by {final}"])


def _parts_text(parts_made: list[dict[str, Any]]) -> str:
    """Where each part of an ensemble trained in parts was made, consecutive parts of the same commit and
    device as one range of seeds ("seeds 2-13: c0eae6f73f on CPU (...)"), not a line per part."""
    ranges: list[list[Any]] = []  # [first seed, last seed, "commit on device"]
    for part in sorted(parts_made, key=lambda part: part["seeds"][0]):
        made = f"{_commits_text(part['provenance'], [])} on {environment.device_name(part['device'])}"
        first, last = part["seeds"]
        if ranges and ranges[-1][2] == made and ranges[-1][1] + 1 == first:
            ranges[-1][1] = last
        else:
            ranges.append([first, last, made])
    return "; ".join(
        f"{f'seed {first}' if first == last else f'seeds {first}-{last}'}: {made}" for first, last, made in ranges
    )


def _provenance_section(results: dict[str, dict[str, Any]]) -> list[str]:
    lines = [
        "",
        "## How each run was made",
        "",
        "| config | seeds | command | commit | machine | jax |",
        "|---|---:|---|---|---|---|",
    ]
    for name, res in results.items():
        made = res.get("provenance", {})
        commit = _commits_text(made, res.get("trained_by", []))
        if "parts" in res:  # trained in parts (parts.py), merged by the command in provenance
            commit = f"{_parts_text(res['parts'])}; merged by {_commits_text(made, [])}"
        lines.append(
            f"| `{name}` | {res.get('num_seeds', 1)} | `{made.get('command', '?')}` | {commit} | "
            f"{_machine_text(made)} | {res.get('versions', {}).get('jax', '?')} |"
        )
    return lines


def write(results_dir: pathlib.Path, out: pathlib.Path) -> list[dict[str, Any]]:
    markdown, rows = render(results_dir)
    out.write_text(markdown)
    plotted = [line for line in rows if line["split"]]
    if plotted:
        plots.plot_reproduction(plotted, out.with_name("reproduction.png"))
    return rows


def define_flags() -> None:
    """The command's flags, defined only when it runs as a program: other modules import this one
    (suite, rerun), and absl flags are global (a second `--out` would clash)."""
    flags.DEFINE_string("results_dir", "results/cpu", "The campaign's results: one folder per config.")
    flags.DEFINE_string("out", "results/README.md", "The markdown table to write (reproduction.png beside it).")


@cli.exit_on_user_error
def main(argv: list[str]) -> None:
    cli.begin(argv)
    options = flags.FLAGS
    rows = write(pathlib.Path(options.results_dir), pathlib.Path(options.out))
    counts = {v: sum(line["verdict"] == v for line in rows) for v in ("reproduced", "above", "below")}
    print(f"{options.out}: {len(rows)} configs, " + ", ".join(f"{n} {v}" for v, n in counts.items()))


if __name__ == "__main__":
    define_flags()
    app.run(main, flags_parser=cli.parse_flags)
