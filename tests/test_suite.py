"""The suite over two small configs writes all three tables and skips finished configs on a second call."""

from __future__ import annotations

import ast
import csv
import json

import pytest

from fmnist_jax import experiment, suite
from fmnist_jax.errors import UserError

NAMES = ["b_lenet5", "baseline"]


@pytest.fixture(scope="module")
def suite_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("suite")
    suite.run_suite(root, NAMES, num_epochs_cap=1, num_seeds=2, train_limit=1500, profile="cpu")
    return root


def test_writes_markdown_csv_and_json_tables(suite_dir):
    rows = json.loads((suite_dir / "results.json").read_text())["rows"]
    # Sorted by report (A before B), whatever order they were asked in.
    assert [row["config"] for row in rows] == ["baseline", "b_lenet5"]
    assert {row["num_seeds"] for row in rows} == {2}
    markdown = (suite_dir / "results.md").read_text()
    assert "2 seed(s) per config" in markdown.splitlines()[0] and "| B | b_lenet5 |" in markdown
    with open(suite_dir / "results.csv") as f:
        assert [row["config"] for row in csv.DictReader(f)] == ["baseline", "b_lenet5"]
    assert (suite_dir / "accuracy_vs_params.png").exists() and (suite_dir / "accuracy_vs_train_time.png").exists()
    baseline = rows[0]
    assert baseline["reported_accuracy"] == 0.9156 and baseline["params"] == 225_034
    assert 0.1 < baseline["test_accuracy_mean"] <= 1.0 and baseline["epochs"] == 1


def test_a_second_call_skips_finished_configs(suite_dir):
    before = {n: json.loads((suite_dir / n / "results.json").read_text())["finished_at"] for n in NAMES}
    suite.run_suite(suite_dir, NAMES, num_epochs_cap=1, num_seeds=2, train_limit=1500, profile="cpu")
    after = {n: json.loads((suite_dir / n / "results.json").read_text())["finished_at"] for n in NAMES}
    assert before == after


def test_committed_results_without_checkpoints_are_not_trained_again(suite_dir, tmp_path):
    # As a fresh clone holds the campaign's results: results.json and plots, never checkpoints.
    clone = tmp_path / "clone"
    for name in NAMES:
        (clone / name).mkdir(parents=True)
        (clone / name / "results.json").write_text((suite_dir / name / "results.json").read_text())
    suite.run_suite(clone, NAMES, num_epochs_cap=1, num_seeds=2, train_limit=1500, profile="cpu")
    assert not (clone / "baseline" / "checkpoints").exists()
    rows = json.loads((clone / "results.json").read_text())["rows"]
    assert [row["num_seeds"] for row in rows] == [2, 2] and "error" not in rows[0]
    # Another config (3 seeds) is not what those results measured: that one trains.
    suite.run_suite(clone, ["b_lenet5"], num_epochs_cap=1, num_seeds=3, train_limit=1500, profile="cpu")
    assert (clone / "b_lenet5" / "checkpoints").exists()


def test_the_main_job_keeps_committed_results_too(suite_dir, tmp_path):
    # The campaign's ablations run through fmnist_jax.main, not the suite: in a fresh clone their
    # committed results.json must not be trained again and overwritten either.
    workdir = tmp_path / "ablation"
    workdir.mkdir()
    committed = (suite_dir / "b_lenet5" / "results.json").read_text()
    (workdir / "results.json").write_text(committed)
    config = suite.suite_config("b_lenet5", num_epochs_cap=1, num_seeds=2, train_limit=1500)
    assert experiment.train_and_evaluate(config, str(workdir)) == json.loads(committed)
    assert not (workdir / "checkpoints").exists() and (workdir / "results.json").read_text() == committed


def test_order_follows_the_configs_readme_and_only_filters():
    names = suite.config_names_in_report_order()
    assert names.index("baseline") < names.index("b_lenet5") < names.index("c_lenet5") < names.index("e_cnn5")
    assert suite.select(names, ["b_*"]) == [n for n in names if n.startswith("b_")]
    with pytest.raises(UserError, match="matches no config"):
        suite.select(names, ["zzz*"])


def test_an_interrupted_config_stops_the_whole_suite(tmp_path, monkeypatch):
    """SIGTERM inside one config's training (experiment.Interrupted) must end the suite, with its
    message, instead of being recorded as that config's error while the suite goes on to the next."""
    trained = []

    def interrupted_after_the_first(config, workdir):
        trained.append(workdir)
        raise experiment.Interrupted("stopped by SIGTERM after epoch 1 of 3")

    monkeypatch.setattr(experiment, "train_and_evaluate", interrupted_after_the_first)
    with pytest.raises(experiment.Interrupted, match="SIGTERM"):
        suite.run_suite(tmp_path, NAMES, num_epochs_cap=1, num_seeds=1, train_limit=1500, profile="cpu")
    assert len(trained) == 1 and not (tmp_path / "results.md").exists()


def test_ablation_commands_of_some_configs_only():
    from fmnist_jax import campaign

    every = campaign.ablation_commands("results/cpu")
    some = campaign.ablation_commands("results/cpu", only="d_*,c_lenet5")
    expected = [c for c in every if "configs/d_" in c or "configs/c_lenet5.py" in c]
    assert some == expected and 0 < len(some) < len(every)


def test_every_ablation_command_changes_existing_fields_of_an_existing_config():
    from fmnist_jax import campaign

    commands = campaign.ablation_commands("results/cpu")
    assert len(commands) == sum(len(changes) for changes in campaign.ABLATIONS.values()) > 0
    for command in commands:
        program, module, main, config_flag, *overrides, workdir_flag = command.split()
        assert (program, module, main) == ("python", "-m", "fmnist_jax.main")
        name = config_flag.removeprefix("--config=configs/").removesuffix(".py")
        plan = campaign.plan_for(name)
        # What the campaign's own run of the config trains (its seeds and epoch cap): the ablation changes that.
        config = suite.suite_config(name, num_epochs_cap=plan.num_epochs_cap, num_seeds=plan.num_seeds, train_limit=0)
        workdir = workdir_flag.removeprefix("--workdir=")
        folder, folder_name = workdir.rsplit("/", 1)
        # results_table reads the config and the change back from the folder's name.
        parsed_name, change = campaign.parse_ablation_folder(folder_name)
        assert folder == "results/cpu/ablations" and parsed_name == name
        changed = dict(override.removeprefix("--config.").split("=") for override in overrides)
        assert changed["num_seeds"] == campaign.changed_fields(change).get("num_seeds", str(plan.num_seeds))
        if plan.num_epochs_cap:  # the cut applies to an ablation too, unless it sets the epochs itself
            assert changed["num_epochs"] == campaign.changed_fields(change).get("num_epochs", str(plan.num_epochs_cap))
        for field, value in campaign.changed_fields(change).items():
            assert changed[field] == value, field
            current = config
            for part in field.split("."):  # a nested field, e.g. augment.flip_vertical
                assert part in current, field
                current = current[part]
            # The change is a change, and of the field's own type (so the flag parses).
            if isinstance(current, bool):
                assert value in ("True", "False") and (value == "True") != current, field
            elif isinstance(current, tuple):  # written as a Python literal, e.g. conv_kernel_l2_layers=()
                parsed = ast.literal_eval(value)
                assert isinstance(parsed, tuple) and parsed != current, field
            else:
                assert type(current)(value) != current, field
