"""results/README.md is generated from the committed results and stays in sync; verdicts say what they mean."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from conftest import REPO_ROOT
from fmnist_jax import campaign, experiment, plots, results_table
from fmnist_jax.config_base import base_config, config_from_record

RESULTS_DIR = REPO_ROOT / "results" / "cpu"


def test_committed_results_readme_is_the_generated_one():
    markdown, rows = results_table.render(RESULTS_DIR)
    committed = (REPO_ROOT / "results" / "README.md").read_text()
    assert markdown == committed, "regenerate it: python -m fmnist_jax.results_table"
    for line in rows:  # every committed result says how it was made
        assert line["epochs_run"] >= 1


@pytest.mark.parametrize(
    "report_value,ours,expected",
    [
        (0.90, [0.905, 0.895, 0.90], "reproduced"),  # inside 1 point
        (0.90, [0.93, 0.80, 0.87], "reproduced"),  # inside 2 std of a wide spread
        (0.90, [0.92, 0.921, 0.919], "above"),
        (0.90, [0.88, 0.881, 0.879], "below"),
    ],
)
def test_verdict(report_value, ours, expected):
    assert results_table.verdict(report_value, ours) == expected


def test_ours_is_measured_as_the_report_measured_it():
    history = [{"val_accuracy": 0.9, "val_accuracy_per_member": [0.90, 0.91]}]
    results = {
        "config": {"reference": {"report": "B"}},
        "history": history,
        "best_val_accuracy": 0.92,
        "best_val_accuracy_per_member": [0.92, 0.93],
        "test_accuracy": 0.9,
        "test_accuracy_per_seed": [0.89, 0.91],
    }
    assert results_table.ours_on("val", results) == [0.92, 0.93]  # Report B: the best epoch's
    results["config"]["reference"]["report"] = "C"
    assert results_table.ours_on("val", results) == [0.90, 0.91]  # Keras: the last epoch's
    assert results_table.ours_on("test", results) == [0.89, 0.91]
    kfold = {"folds": [{}], "best_fold_test_accuracy": 0.93, "val_accuracy_per_fold": [0.9, 0.91]}
    assert results_table.ours_on("test", kfold) == [0.93]


def test_labels_are_spread_apart_in_order():
    positions = [0.5, 0.5, 0.51, 0.2, 0.99, 0.98]
    placed = plots.spread_positions(positions, min_gap=0.03)
    order = np.argsort(positions, kind="stable")
    assert np.all(np.diff(placed[order]) >= 0.03 - 1e-9)
    assert placed.max() <= 1.0 + 1e-9
    assert abs(placed[3] - 0.2) < 1e-9  # a label with room stays beside its point


def test_a_recorded_config_from_older_code_gets_the_fields_added_since():
    recorded = json.loads((RESULTS_DIR / "b_lenet5" / "results.json").read_text())["config"]
    recorded.pop("members_program", None)  # as in a results.json written before the field existed
    recorded.pop("trace_dir", None)
    config = config_from_record(recorded)
    assert config.trace_dir == base_config().trace_dir  # a field added since: its default
    # ...except where the default computes differently from what runs made before the field did:
    assert config.members_program == "vmap" != base_config().members_program
    assert config.batch_size == recorded["batch_size"] and config.model == recorded["model"] == "lenet5"
    assert list(config.model_options.filters) == list(recorded["model_options"]["filters"])


@pytest.mark.slow  # minutes: one committed config trained again at its full length
def test_a_committed_result_is_reproduced_by_its_recorded_config(tmp_path):
    """The cheapest committed config, trained again from the config its results.json records, gives
    the same mean test accuracy within half a point (bit for bit on the same machine and versions)."""
    committed = json.loads((RESULTS_DIR / "b_lenet5" / "results.json").read_text())
    config = config_from_record(committed["config"])  # fields added since take their defaults
    rerun = experiment.train_and_evaluate(config, str(tmp_path / "b_lenet5"))
    assert abs(rerun["test_accuracy"] - committed["test_accuracy"]) <= 0.005


@pytest.mark.parametrize(
    ("verdict", "ablations", "expected"),
    [
        ("below", [], "below; no ablation run yet"),
        ("below", [{"change": "batch_size=32", "closes_gap": True}], "below; ablation `batch_size=32` reproduces it"),
        (
            "below",
            [{"change": "batch_size=32", "closes_gap": True}, {"change": "num_epochs=30", "closes_gap": True}],
            "below; ablations `batch_size=32` and `num_epochs=30` each reproduce it",
        ),
        ("above", [], "above"),
        ("above", [{"change": "batch_size=128", "closes_gap": False}], "above; no ablation closes the gap"),
        ("reproduced", [{"change": "x=1", "closes_gap": True}], "reproduced"),
        (
            "below",
            [{"change": "num_epochs=40", "closes_gap": False, "crosses_gap": True}],
            "below; ablation `num_epochs=40` ends above it",
        ),
    ],
)
def test_the_verdict_says_what_the_ablations_showed(verdict, ablations, expected):
    line = {"verdict": verdict, "ablations": ablations, "epochs_cut_from": None, "epochs_configured": 15}
    assert results_table._verdict_text(line).startswith(expected)


def test_a_config_the_campaign_cut_short_says_so_in_its_epochs_and_its_verdict(tmp_path):
    # Report D's d_cnn trains 10 of its 400 epochs in the campaign: its gap is read at the cut.
    (tmp_path / "d_cnn").mkdir()
    shutil.copy(RESULTS_DIR / "d_cnn" / "results.json", tmp_path / "d_cnn")
    markdown, (line,) = results_table.render(tmp_path)
    assert (line["epochs_configured"], line["epochs_cut_from"]) == (10, 400)
    assert "| 10/10 (cut; report: 400) |" in markdown
    if line["verdict"] != "reproduced":
        assert f"{line['verdict']} at the 10-epoch cut" in results_table._verdict_text(line)


def test_an_ablation_without_its_configs_result_is_listed_not_dropped(tmp_path):
    folder = "e_cnn5__val_split=test,num_seeds=1"  # e_cnn5 trains in parts: its ablation came first
    (tmp_path / "ablations" / folder).mkdir(parents=True)
    shutil.copy(RESULTS_DIR / "ablations" / folder / "results.json", tmp_path / "ablations" / folder)
    markdown, rows = results_table.render(tmp_path)
    assert not rows
    assert "Ablations whose config has no result yet (in the Ablations table once it has one):" in markdown
    # Its own number and finding, until its config's row can carry them.
    test_accuracy = json.loads((tmp_path / "ablations" / folder / "results.json").read_text())["test_accuracy"]
    expected = f"- `e_cnn5` with `val_split=test,num_seeds=1`: test {100 * test_accuracy:.2f} (1) %: "
    assert expected + campaign.FINDINGS[folder] in markdown


def test_a_run_resumed_under_other_code_names_each_commit_with_its_epochs():
    made = {"git_commit": "c" * 40, "git_dirty": False}
    one = [{"epochs": [1, 15], "git_commit": "c" * 40, "git_dirty": False}]
    assert results_table._commits_text(made, one) == "c" * 10
    resumed = [{"epochs": [11, 15], "git_commit": "c" * 40, "git_dirty": False}]  # 1-10 by code before segments
    assert results_table._commits_text(made, resumed) == (
        f"not recorded (epochs 1-10); {'c' * 10} (epochs 11-15); results.json by {'c' * 10}"
    )
    two = [
        {"epochs": [3, 9], "git_commit": "a" * 40, "git_dirty": True},
        {"epochs": [10, 15], "git_commit": "c" * 40, "git_dirty": False},
    ]
    assert results_table._commits_text(made, two) == (
        f"not recorded (epochs 1-2); {'a' * 10} (dirty) (epochs 3-9); {'c' * 10} (epochs 10-15); "
        f"results.json by {'c' * 10}"
    )


def test_images_per_s_comes_from_the_median_epoch_so_a_paused_one_does_not_move_it():
    history = [{"epoch_time_s": seconds} for seconds in (2.0, 2.0, 300.0)]  # the last was paused
    results = {"num_members": 3, "steps_per_epoch": 100, "config": {"batch_size": 32}, "history": history}
    assert results_table.median_epoch_images_per_s(results) == 3 * 100 * 32 / 2.0
    folds = {"folds": [results, dict(results, history=[{"epoch_time_s": 4.0}] * 3)]}
    assert results_table.median_epoch_images_per_s(folds) == 3 * 100 * 32 / 4.0  # median of 2, 2, 300, 4, 4, 4
    # Members stopped early: each epoch counts the members it trained (3, 2, 1 here: 4800, 3200, 1600 images/s).
    stopping = [{"epoch_time_s": 2.0, "members_trained": n} for n in (3, 2, 1)]
    assert results_table.median_epoch_images_per_s(dict(results, history=stopping)) == 2 * 100 * 32 / 2.0


def test_report_c_losses_show_each_ablation_beside_its_config():
    results = results_table.load_results(RESULTS_DIR)
    ablations = results_table.load_ablations(RESULTS_DIR)
    changed = "conv_kernel_l2_layers=()"
    ablation = dict(ablations["c_dropout"])[changed]
    lines = results_table._report_c_losses({"c_dropout": results["c_dropout"]}, {"c_dropout": ablations["c_dropout"]})
    row = next(line for line in lines if line.startswith(f"| `c_dropout` with `{changed}` |"))
    last = ablation["history"][-1]  # the ablation's own losses, not its config's
    assert f"{last['val_loss_with_penalty']:.4f}" in row and f"{last['val_loss']:.4f}" in row
    assert len([line for line in lines if line.startswith("| `c_dropout`")]) == 1 + len(ablations["c_dropout"])


def test_every_committed_ablation_says_what_it_showed_and_every_finding_has_its_run():
    committed = {path.name for path in (RESULTS_DIR / campaign.ABLATIONS_DIR).iterdir() if path.is_dir()}
    missing = sorted(committed - set(campaign.FINDINGS))
    assert not missing, f"write what these ablations showed into campaign.FINDINGS: {missing}"
    assert not sorted(set(campaign.FINDINGS) - committed), "a finding without its committed run"
    planned = {campaign.ablation_folder_name(n, c) for n, changes in campaign.ABLATIONS.items() for c in changes}
    assert set(campaign.FINDINGS) <= planned


def test_parts_made_alike_are_one_range_of_seeds():
    """e_cnn5's committed parts: one line per run of consecutive seeds of the same commit and machine."""
    made = json.loads((RESULTS_DIR / "e_cnn5" / "results.json").read_text())["parts"]
    text = results_table._parts_text(made)
    assert text.count("seed") == len({(p["provenance"]["git_commit"], str(p["device"])) for p in made})
    assert text.startswith("seeds 0-1: 4147cb056f on CPU") and "seeds 2-13: c0eae6f73f on CPU" in text
    assert text.endswith("seed 14: c0eae6f73f on CPU (AMD EPYC x2 cores)")
    without_seed_5 = [part for part in made if part["seeds"] != [5, 5]]  # a gap splits a range
    assert "seeds 2-4: c0eae6f73f" in results_table._parts_text(without_seed_5)
    assert "seeds 6-13: c0eae6f73f" in results_table._parts_text(without_seed_5)
