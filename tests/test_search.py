"""Successive halving over Report E's spaces: the rungs, the scores from validation only, the tables, resume."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fmnist_jax import config_check, search
from fmnist_jax.config_base import config_from_file
from fmnist_jax.errors import UserError


def test_rung_plan_keeps_a_third_and_triples_the_epochs():
    assert search.rung_plan(1, 27, 3, 27) == [(1, 27), (3, 9), (9, 3), (27, 1)]
    assert search.rung_plan(1, 10, 3, 27) == [(1, 27), (3, 9), (9, 3), (10, 1)]
    assert search.rung_plan(2, 4, 2, 5) == [(2, 5), (4, 3)]


def test_score_is_the_best_points_mean_best_validation_accuracy_so_far():
    # 2 sweep points x 2 seeds, point-major; 3 epochs of history.
    history = [
        {"val_accuracy_per_member": [0.50, 0.60, 0.70, 0.40]},
        {"val_accuracy_per_member": [0.80, 0.55, 0.65, 0.45]},
        {"val_accuracy_per_member": [0.10, 0.10, 0.99, 0.99]},
    ]
    results = {"history": history, "sweep_points": [{}, {}]}
    # After 2 epochs: point 0 = mean(0.80, 0.60) = 0.70, point 1 = mean(0.70, 0.45) = 0.575.
    assert search.score_at(results, 2) == (pytest.approx(0.70), 0)
    assert search.score_at(results, 3) == (pytest.approx(0.99), 1)
    assert search.score_at({"history": [{"val_accuracy": 0.3}, {"val_accuracy": 0.2}]}, 2) == (0.3, 0)


@pytest.mark.parametrize("space", search.SPACES)
def test_samples_are_reproducible_valid_configs_within_the_space(space):
    trials = search.sample_trials(space, 6, seed=3)
    assert [t.changes for t in trials] == [t.changes for t in search.sample_trials(space, 6, seed=3)]
    assert len({json.dumps(t.changes, default=str) for t in trials}) > 1
    for trial in trials:
        config = trial.config(num_epochs=1, train_limit=0, num_seeds=1)
        config_check.validate(config)
        if space == "mlp":
            assert 2 <= len(config.model_options.widths) <= 6
            assert set(config.model_options.widths) <= {32, 64, 128, 256, 512}
            assert config.sweep.learning_rate == (1e-2, 1e-3, 1e-4)
        else:
            assert config.model_options.filters[0] in (16, 32) and config.model_options.kernel_size in (3, 5)
            assert all(1e-4 <= lr <= 1e-2 for lr in config.sweep.learning_rate)


def test_a_tiny_search_writes_its_tables_and_a_runnable_best_config_and_resumes(tmp_path, monkeypatch):
    trial_config = search.Trial.config

    def members_one_after_another(trial, **kwargs):
        # As conftest.small_config: `map` trains each of a trial's 3 learning rates exactly as `interleave`
        # (CPU's auto) does, and compiles a smaller program (44 -> 34 CPU-s for this test).
        config = trial_config(trial, **kwargs)
        config.members_program = "map"
        return config

    monkeypatch.setattr(search.Trial, "config", members_one_after_another)
    kwargs = dict(num_trials=2, eta=2, min_epochs=1, max_epochs=2, train_limit=1000, num_seeds=1, seed=0)
    summary = search.run_search(tmp_path, "mlp", **kwargs)
    assert summary["rungs"] == [1, 2]
    reached = sorted(len(row["scores"]) for row in summary["trials"])
    assert reached == [1, 2]  # ceil(2 / 2) = 1 trial goes on to the second rung
    first_rung = max(row["scores"][0]["val_accuracy"] for row in summary["trials"])
    promoted = [row["scores"][0]["val_accuracy"] for row in summary["trials"] if len(row["scores"]) == 2]
    assert promoted == [first_rung]  # the best by validation accuracy went on
    best = summary["best"]
    assert best["scores"][-1]["val_accuracy"] == max(
        row["scores"][-1]["val_accuracy"] for row in summary["trials"] if len(row["scores"]) == 2
    )
    for name in ("trials.md", "trials.csv", "search.json"):
        assert (tmp_path / name).stat().st_size > 100
    config = config_from_file(tmp_path / "best_config.py")
    config_check.validate(config)
    assert tuple(config.model_options.widths) == tuple(best["model_options.widths"])
    assert config.learning_rate == best["best_learning_rate"] and not config.sweep.learning_rate
    finished = {p.name: json.loads((p / "results.json").read_text())["finished_at"] for p in tmp_path.glob("trial_*")}
    again = search.run_search(tmp_path, "mlp", **kwargs)
    assert again["trials"] == summary["trials"]
    assert finished == {
        p.name: json.loads((p / "results.json").read_text())["finished_at"] for p in tmp_path.glob("trial_*")
    }
    assert np.isfinite([s["val_accuracy"] for row in again["trials"] for s in row["scores"]]).all()


def test_bad_search_settings_are_refused(tmp_path):
    with pytest.raises(UserError, match="--eta >= 2"):
        search.run_search(
            tmp_path, "mlp", num_trials=3, eta=1, min_epochs=1, max_epochs=2, train_limit=0, num_seeds=1, seed=0
        )
