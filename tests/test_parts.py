"""An ensemble trained in parts (runs of consecutive seeds) merges into what one run of all its seeds gives."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from conftest import run_cli, small_config
from fmnist_jax import campaign, experiment, parts, results_table, suite
from fmnist_jax.errors import UserError

# Fields one program of every member writes that a merge of its parts must reproduce exactly.
SAME_FIELDS = (
    "num_seeds",
    "num_members",
    "num_params",
    "test_loss",
    "test_accuracy",
    "test_loss_per_seed",
    "test_accuracy_per_seed",
    "test_accuracy_mean",
    "test_accuracy_std",
    "test_accuracy_ci95",
    "ensemble_test_accuracy_mean_prob",
    "ensemble_test_loss_mean_prob",
    "ensemble_test_accuracy_vote",
    "test_metrics",
    "best_epoch_per_member",
    "best_val_accuracy_per_member",
    "best_val_accuracy",
    "epochs_trained",
)
MEMBER_CURVES = ("train_loss", "train_accuracy", "val_loss", "val_accuracy")


def _config(**overrides):
    return small_config("b_lenet5", train_limit=1500, num_epochs=2, **overrides)


@pytest.fixture(scope="module")
def one_program_and_parts(tmp_path_factory):
    """Seeds 3-5 as one run of 3 members, and as parts of 1 and 2 seeds (suite.train_in_parts) merged."""
    root = tmp_path_factory.mktemp("parts")
    whole = experiment.train_and_evaluate(_config(seed=3, num_seeds=3), str(root / "whole"))
    merged = suite.train_in_parts(_config(seed=3, num_seeds=3), root / "in_parts", seeds_per_part=2)
    return root, whole, merged


def test_members_trained_apart_are_the_members_of_one_program(one_program_and_parts):
    root, whole, merged = one_program_and_parts
    assert sorted(p.name for p in (root / "in_parts" / parts.PARTS_DIR).iterdir()) == ["seeds_03-04", "seeds_05-05"]
    for field in SAME_FIELDS:
        assert merged[field] == whole[field], field
    for merged_epoch, whole_epoch in zip(merged["history"], whole["history"], strict=True):
        for name in MEMBER_CURVES:
            assert merged_epoch[f"{name}_per_member"] == whole_epoch[f"{name}_per_member"], name
            assert merged_epoch[name] == whole_epoch[name], name
        assert merged_epoch["members_trained"] == 3
        assert merged_epoch["learning_rate"] == whole_epoch["learning_rate"]
    assert [part["seeds"] for part in merged["parts"]] == [[3, 4], [5, 5]]
    assert merged["config"]["seed"] == 3 and merged["config"]["num_seeds"] == 3
    assert (root / "in_parts" / "curves.png").stat().st_size > 10_000
    assert (root / "in_parts" / "confusion_matrix.png").stat().st_size > 10_000


def test_a_second_merge_of_the_same_parts_changes_nothing(one_program_and_parts):
    root, _, merged = one_program_and_parts
    on_disk = (root / "in_parts" / "results.json").read_text()
    again = suite.train_in_parts(_config(seed=3, num_seeds=3), root / "in_parts", seeds_per_part=2)
    assert again == merged and (root / "in_parts" / "results.json").read_text() == on_disk


def test_the_merge_command_names_missing_seeds(one_program_and_parts, tmp_path):
    root, _, _ = one_program_and_parts
    shutil.copytree(root / "in_parts" / parts.PARTS_DIR / "seeds_05-05", tmp_path / parts.PARTS_DIR / "seeds_05-05")
    with pytest.raises(
        UserError, match=r"starts at seed 5, but seed 3 comes first: train seeds 3-4 \(a part in .*seeds_03-04\)"
    ):
        parts.merge_into(tmp_path, num_seeds=3, first_seed=3)
    with pytest.raises(UserError, match=r"cover 1 of --num_seeds=2 seeds \(5-5\): train seeds 6-6 first"):
        parts.merge_into(tmp_path, num_seeds=2, first_seed=5)
    shutil.copytree(root / "in_parts" / parts.PARTS_DIR / "seeds_03-04", tmp_path / parts.PARTS_DIR / "seeds_03-04")
    result = run_cli("fmnist_jax.parts", f"--workdir={tmp_path}", "--num_seeds=3", "--first_seed=3")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1])["num_members"] == 3


def test_parts_with_a_gap_or_another_config_are_refused(one_program_and_parts, tmp_path):
    root, _, _ = one_program_and_parts
    source = root / "in_parts" / parts.PARTS_DIR
    with pytest.raises(UserError, match=r"seeds_03-04 starts at seed 3, but seed 1 comes first: train seeds 1-2"):
        parts.merge(parts.finished_parts(root / "in_parts"), num_seeds=5, first_seed=1)
    with pytest.raises(UserError, match=r"seeds_03-04 overlaps the seeds of the parts before it"):
        parts.merge([source / "seeds_05-05", source / "seeds_03-04"])
    shutil.copytree(source / "seeds_05-05", tmp_path / "misnamed" / "seeds_06-06")
    with pytest.raises(
        UserError, match=r"seeds_06-06 holds seeds 5-5 \(its results.json's config\): rename it seeds_05-05"
    ):
        parts.merge([tmp_path / "misnamed" / "seeds_06-06"])
    other = tmp_path / "other" / parts.PARTS_DIR
    shutil.copytree(source / "seeds_03-04", other / "seeds_03-04")
    shutil.copytree(source / "seeds_05-05", other / "seeds_05-05")
    changed = json.loads((other / "seeds_05-05" / "results.json").read_text())
    changed["config"]["learning_rate"] = 0.5
    (other / "seeds_05-05" / "results.json").write_text(json.dumps(changed))
    with pytest.raises(UserError, match="has learning_rate=0.5"):
        parts.merge(parts.finished_parts(tmp_path / "other"))
    (other / "seeds_03-04" / "test_logits.npz").unlink()
    with pytest.raises(UserError, match="test_logits.npz is missing or unreadable"):
        parts.merge(parts.finished_parts(tmp_path / "other"))


def test_a_part_that_stopped_early_counts_its_members_as_stopped():
    # Part A (2 members) stopped after epoch 2, part B (1 member) trained 3 epochs: from epoch 3 on, A's
    # members are stopped as under the map program (train None, val as at their last epoch).
    def entry(epoch, train, val, time_s):
        return {"epoch": epoch, "train_loss": train, "val_loss": val, "learning_rate": 1e-3, "epoch_time_s": time_s}

    part_a = [
        {**entry(e, 0.0, 0.0, 10.0), "train_loss_per_member": [e, e + 0.5], "val_loss_per_member": [e, e + 1.0]}
        for e in (1, 2)
    ]
    for e in part_a:
        e.update(val_time_s=1.0, members_trained=2)
    part_b = [{**entry(e, 10.0 * e, 20.0 * e, 5.0), "val_time_s": 0.5} for e in (1, 2, 3)]
    merged = parts.merge_histories([part_a, part_b], [2, 1])
    assert [e["members_trained"] for e in merged] == [3, 3, 1]
    assert merged[2]["train_loss_per_member"] == [None, None, 30.0] and merged[2]["train_loss"] == 30.0
    assert merged[2]["val_loss_per_member"] == [2, 3.0, 60.0]
    assert merged[1]["train_loss"] == pytest.approx((2 + 2.5 + 20) / 3)
    assert [e["epoch_time_s"] for e in merged] == [15.0, 15.0, 5.0]


def test_the_campaign_trains_report_es_cnn5_ensembles_in_parts_of_whole_seeds(tmp_path):
    for name in ("e_cnn5", "e_cnn5_augmented"):
        plan = campaign.plan_for(name)
        ranges = parts.seed_ranges_to_train(tmp_path, 0, plan.num_seeds, plan.seeds_per_part)
        assert [seed for first, count in ranges for seed in range(first, first + count)] == list(range(plan.num_seeds))
    assert campaign.plan_for("e_cnn5").num_seeds == 15
    assert parts.seed_ranges_to_train(tmp_path, 3, 5, 2) == [(3, 2), (5, 2), (7, 1)]
    assert parts.part_folder_name(7, 1) == "seeds_07-07"
    with pytest.raises(UserError, match="seeds_per_part=0"):
        parts.seed_ranges_to_train(tmp_path, 0, 3, 0)
    # Seeds a finished part holds (of any size: here seeds 4-6, trained elsewhere) are not trained again;
    # an unfinished part (no results.json) is.
    for folder, finished in (("seeds_04-06", True), ("seeds_08-08", False)):
        (tmp_path / parts.PARTS_DIR / folder).mkdir(parents=True)
        if finished:
            (tmp_path / parts.PARTS_DIR / folder / "results.json").write_text("{}")
    assert parts.seed_ranges_to_train(tmp_path, 0, 10, 2) == [(0, 2), (2, 2), (7, 2), (9, 1)]


def test_every_run_writes_its_members_test_logits(one_program_and_parts):
    root, whole, _ = one_program_and_parts
    with np.load(root / "whole" / "test_logits.npz") as saved:
        logits, labels = saved["logits"], saved["labels"]
    assert logits.shape == (3, 10_000, 10) and logits.dtype == np.float32
    accuracy = (logits.argmax(axis=-1) == labels).mean(axis=-1)
    np.testing.assert_allclose(accuracy, whole["test_accuracy_per_seed"], atol=1e-7)


def test_the_results_table_names_the_parts_seeds_commit_and_device(one_program_and_parts, tmp_path):
    root, _, merged = one_program_and_parts
    (tmp_path / "b_lenet5").mkdir()
    shutil.copy(root / "in_parts" / "results.json", tmp_path / "b_lenet5" / "results.json")
    markdown, rows = results_table.render(tmp_path)
    assert [row["test"] for row in rows] == [merged["test_accuracy_per_seed"]]
    (line,) = [line for line in markdown.splitlines() if line.startswith("| `b_lenet5` | 3 |")]
    # Both parts were made by this commit on this machine: one range of seeds (results_table._parts_text).
    assert "seeds 3-5: " in line and "merged by " in line and "on CPU (" in line


def test_the_results_table_counts_the_seeds_of_an_unfinished_ensemble(one_program_and_parts, tmp_path):
    root, _, merged = one_program_and_parts
    shutil.copytree(root / "in_parts" / parts.PARTS_DIR, tmp_path / "e_cnn5" / parts.PARTS_DIR)
    markdown, _ = results_table.render(tmp_path)
    (line,) = [line for line in markdown.splitlines() if line.startswith("Not yet run")]
    mean, std = (100 * merged[f"test_accuracy_{stat}"] for stat in ("mean", "std"))
    assert "`e_cnn5` (3 of its 15 seeds trained, in parts: `e_cnn5/parts/`; their test accuracy so far: " in line
    assert f"{mean:.2f} +- {std:.2f} (3) %)" in line


def test_a_merge_without_parts_names_the_folder_it_looked_in(tmp_path):
    with pytest.raises(UserError, match=r"parts holds no finished part \(a folder seeds_<first>-<last> with"):
        parts.merge_into(tmp_path / "runs" / "cnn5", num_seeds=15)
