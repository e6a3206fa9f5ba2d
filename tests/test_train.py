"""Training on real data slices: learns, is reproducible, resumes exactly, restores exactly."""

from __future__ import annotations

import json
import struct

import jax
import numpy as np
import pytest

from conftest import small_config
from fmnist_jax import config_base, config_check, experiment, loop, suite
from fmnist_jax.errors import CheckpointError, ConfigError

RESULT_FIELDS = (
    "config",
    "num_params",
    "history",
    "test_loss",
    "test_accuracy",
    "compile_time_s",
    "train_time_s",
    "step_time_ms",
    "images_per_s",
    "device",
    "versions",
)
HISTORY_FIELDS = ("train_loss", "train_accuracy", "val_loss", "val_accuracy", "epoch_time_s")


@pytest.fixture(scope="module")
def two_epoch_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("two_epochs")
    results = experiment.train_and_evaluate(small_config("variant_bn", num_epochs=2, train_limit=6000), str(workdir))
    return workdir, results


def test_short_training_clearly_beats_chance(tmp_path):
    # The baseline (no batch norm: its running averages, momentum 0.99, lag for the first few
    # hundred steps) on 2,700 training examples for 2 epochs. Chance is 0.1 on 10 balanced classes.
    results = experiment.train_and_evaluate(small_config("baseline", num_epochs=2, train_limit=3000), str(tmp_path))
    assert results["test_accuracy"] > 0.7
    assert results["history"][-1]["train_loss"] < results["history"][0]["train_loss"]


def test_batch_norm_run_learns(two_epoch_run):
    _, results = two_epoch_run
    assert results["history"][-1]["train_accuracy"] > 0.6
    assert results["test_accuracy"] > 0.4


def test_a_finished_run_is_returned_without_building_or_compiling_it(two_epoch_run, monkeypatch):
    workdir, results = two_epoch_run

    def no_run(*args, **kwargs):
        raise AssertionError("a finished run was built (model, data, compiles) again")

    monkeypatch.setattr(experiment, "Run", no_run)
    config = small_config("variant_bn", num_epochs=2, train_limit=6000)
    assert experiment.train_and_evaluate(config, str(workdir)) == json.loads((workdir / "results.json").read_text())
    # Another num_epochs is another run: that one resumes from the checkpoints (here: would build the Run).
    with pytest.raises(AssertionError, match="was built"):
        experiment.train_and_evaluate(small_config("variant_bn", num_epochs=3, train_limit=6000), str(workdir))


def test_results_json_follows_the_output_contract(two_epoch_run):
    workdir, results = two_epoch_run
    on_disk = json.loads((workdir / "results.json").read_text())
    for field in RESULT_FIELDS:
        assert field in on_disk, field
    assert len(on_disk["history"]) == 2
    for entry in on_disk["history"]:
        for field in HISTORY_FIELDS:
            assert field in entry and np.isfinite(entry[field]), field
    assert on_disk["num_params"] == 225_482
    assert on_disk["config"]["model_options"]["batch_norm"] is True
    assert on_disk["device"]["platform"] == jax.devices()[0].platform
    assert set(on_disk["versions"]) >= {"jax", "flax", "optax"}
    assert on_disk["num_train_examples"] + on_disk["num_val_examples"] == 6000
    assert sorted(p.name for p in (workdir / "checkpoints").iterdir()) == ["1", "2"]
    assert {p.name for p in (workdir / "checkpoints" / "2").iterdir()} >= {"state", "best", "record"}


def _tensorboard_scalars(folder) -> dict[str, list[tuple[int, float]]]:
    """Every scalar of the TensorBoard event files in folder, read back from their TFRecord framing."""
    from tensorboardX.proto import event_pb2

    scalars: dict[str, list[tuple[int, float]]] = {}
    for path in sorted(folder.glob("events.out.tfevents.*")):
        raw, offset = path.read_bytes(), 0
        while offset < len(raw):
            (length,) = struct.unpack("<Q", raw[offset : offset + 8])
            event = event_pb2.Event.FromString(raw[offset + 12 : offset + 12 + length])  # after length + its crc
            offset += 12 + length + 4  # data, then its crc
            for value in event.summary.value:
                scalars.setdefault(value.tag, []).append((event.step, value.simple_value))
    return scalars


def test_tensorboard_events_hold_every_epoch(two_epoch_run):
    workdir, results = two_epoch_run
    scalars = _tensorboard_scalars(workdir / "tensorboard")
    assert set(scalars) >= {"train/loss", "train/accuracy", "val/loss", "val/accuracy", "learning_rate"}
    for tag, field in (("train/loss", "train_loss"), ("val/accuracy", "val_accuracy")):
        assert [step for step, _ in scalars[tag]] == [1, 2]
        np.testing.assert_allclose([v for _, v in scalars[tag]], [e[field] for e in results["history"]], rtol=1e-6)


def test_eval_only_restores_the_best_checkpoint_with_identical_metrics(two_epoch_run):
    workdir, results = two_epoch_run
    config = small_config("variant_bn", num_epochs=2, train_limit=6000, eval_only=True)
    evaluated = experiment.train_and_evaluate(config, str(workdir))
    assert evaluated["test_accuracy"] == results["test_accuracy"]
    assert evaluated["test_loss"] == results["test_loss"]
    assert evaluated["best_epoch"] == results["best_epoch"]


def test_a_finished_run_is_not_retrained(two_epoch_run):
    workdir, results = two_epoch_run
    again = experiment.train_and_evaluate(small_config("variant_bn", num_epochs=2, train_limit=6000), str(workdir))
    assert again["finished_at"] == results["finished_at"]
    assert again["history"] == results["history"]


def test_same_seed_same_result_and_other_seed_differs(tmp_path):
    config = small_config("baseline", train_limit=1500)
    first = experiment.train_and_evaluate(config, str(tmp_path / "a"))
    second = experiment.train_and_evaluate(config, str(tmp_path / "b"))
    assert first["history"][0]["train_loss"] == second["history"][0]["train_loss"]
    assert first["test_loss"] == second["test_loss"]
    config.seed = 1
    other = experiment.train_and_evaluate(config, str(tmp_path / "c"))
    assert other["test_loss"] != first["test_loss"]


def test_resume_continues_exactly_like_an_uninterrupted_run(tmp_path):
    config = small_config("variant_bn", train_limit=1500, num_epochs=2)
    straight = experiment.train_and_evaluate(config, str(tmp_path / "straight"))
    config.num_epochs = 1  # A run stopped after its first epoch ...
    experiment.train_and_evaluate(config, str(tmp_path / "resumed"))
    config.num_epochs = 2  # ... and started again with the full length.
    resumed = experiment.train_and_evaluate(config, str(tmp_path / "resumed"))
    for key in ("train_loss", "val_loss", "val_accuracy"):
        assert [e[key] for e in resumed["history"]] == [e[key] for e in straight["history"]]
    assert resumed["test_loss"] == straight["test_loss"]


def test_resuming_with_another_config_is_refused(tmp_path):
    config = small_config("baseline", train_limit=1500)
    experiment.train_and_evaluate(config, str(tmp_path))
    config.learning_rate = 0.01
    config.num_epochs = 2
    with pytest.raises(CheckpointError, match="learning_rate=0.001, this config has learning_rate=0.01"):
        experiment.train_and_evaluate(config, str(tmp_path))


def test_early_stopping_stops_and_evaluates_the_best_epoch(tmp_path):
    # A learning rate so small that validation accuracy cannot improve after the first epoch.
    config = small_config("baseline", train_limit=1500, num_epochs=6, learning_rate=1e-9, early_stopping_patience=2)
    results = experiment.train_and_evaluate(config, str(tmp_path))
    assert results["stopped_early"] is True
    assert results["epochs_trained"] == 3  # the best epoch, then `patience` epochs without improvement
    assert results["best_epoch"] == 1
    evaluated = experiment.train_and_evaluate(config, str(tmp_path))
    assert evaluated["finished_at"] == results["finished_at"]  # stopped early counts as finished


def test_every_run_writes_its_evaluation_report(two_epoch_run):
    workdir, results = two_epoch_run
    report = results["test_metrics"]
    confusion = np.asarray(report["confusion_matrix"])
    assert confusion.shape == (10, 10) and confusion.sum() == 10_000
    assert np.trace(confusion) / 10_000 == pytest.approx(results["test_accuracy"], abs=1e-6)
    assert len(report["per_class"]) == 10 and 0.5 < report["roc_auc_ovr_macro"] <= 1.0
    for name in ("confusion_matrix.png", "curves.png"):
        assert (workdir / name).stat().st_size > 10_000


def test_kfold_trains_every_fold_and_summarises(tmp_path):
    # 1,494 images stratify into three folds of 498 (1,500 into 501, 499 and 500): one shape, so the folds
    # share their compiled programs (uneven folds: tests/test_data.py).
    config = small_config("baseline", train_limit=1494, kfold=3)
    summary = experiment.train_and_evaluate(config, str(tmp_path))
    fold_sizes = [fold["num_val_examples"] for fold in summary["folds"]]
    assert fold_sizes == [498, 498, 498]
    assert len(summary["val_accuracy_per_fold"]) == 3 and len(summary["test_accuracy_per_fold"]) == 3
    assert summary["val_accuracy_mean"] == pytest.approx(np.mean(summary["val_accuracy_per_fold"]))
    assert summary["val_accuracy_std"] == pytest.approx(np.std(summary["val_accuracy_per_fold"], ddof=1))
    assert all((tmp_path / f"fold_{i}" / "results.json").exists() for i in range(3))
    assert json.loads((tmp_path / "results.json").read_text())["kfold"] == 3
    row = suite.table_row("baseline_kfold", summary)  # the suite's table takes a k-fold run like any other
    assert row["val_accuracy_mean"] == summary["val_accuracy_mean"] and row["test_accuracy_std"] > 0


def test_validating_on_the_test_set_scores_the_best_epoch_on_the_same_images(tmp_path):
    # val_split="test" (Report E's protocol): the best epoch's val accuracy is its test accuracy, and
    # every training image trains (none held out).
    config = small_config("b_lenet5", num_epochs=2, train_limit=1024, val_split="test", early_stopping_patience=5)
    results = experiment.train_and_evaluate(config, str(tmp_path))
    best = results["history"][results["best_epoch"] - 1]
    assert best["val_accuracy"] == pytest.approx(results["test_accuracy"], abs=1e-6)
    assert best["val_loss"] == pytest.approx(results["test_loss"], rel=1e-5)
    assert results["steps_per_epoch"] == 1024 // config.batch_size
    for field, value in (("kfold", 3), ("fold_val_into_train", True)):
        with pytest.raises(ConfigError, match=f"val_split='test' .* so {field} has nothing to split"):
            config_check.validate(small_config("b_lenet5", val_split="test", **{field: value}))


def test_kfold_continue_starts_each_fold_from_the_previous_folds_final_model(tmp_path):
    from fmnist_jax import checkpoints
    from fmnist_jax.run import Run

    config = small_config("variant_bn", train_limit=1500, kfold=3, kfold_continue=True)  # bn: batch stats too
    experiment.train_and_evaluate(small_config("variant_bn", **{**config, "kfold_index": 0}), str(tmp_path / "fold_0"))
    run = Run(small_config("variant_bn", **{**config, "kfold_index": 1}), str(tmp_path / "fold_1"))
    try:
        started = experiment._continue_from_previous_fold(run, run.initial_state)
        fold_0 = checkpoints.RunCheckpoints(tmp_path / "fold_0", 2)
        fold_0_final, record = fold_0.restore_newest_state(run.state_template)
        fold_0.close()
        assert record["epoch"] == 1
        for carried in ("params", "batch_stats"):
            jax.tree_util.tree_map(
                np.testing.assert_array_equal, getattr(started, carried), getattr(fold_0_final, carried)
            )
        # The optimizer starts again (its schedule with it), as a new fit() call's does.
        jax.tree_util.tree_map(np.testing.assert_array_equal, started.opt_state, run.initial_state.opt_state)
        assert int(started.step) == 0
    finally:
        run.close()
    # Fold 2 cannot start without fold 1's final model: one line that names the fix.
    run = Run(small_config("variant_bn", **{**config, "kfold_index": 2}), str(tmp_path / "fold_2"))
    try:
        with pytest.raises(CheckpointError, match=r"kfold_continue=True: fold 2 .*fold_1.*has no checkpoint"):
            experiment._continue_from_previous_fold(run, run.initial_state)
    finally:
        run.close()
    with pytest.raises(ConfigError, match="kfold_continue=True needs k-fold"):
        config_check.validate(small_config("variant_bn", kfold_continue=True))


def test_feature_maps_are_saved_for_the_chosen_test_images(tmp_path):
    config = small_config("c_lenet5", train_limit=1500, feature_map_images=(0, 7))
    experiment.train_and_evaluate(config, str(tmp_path))
    assert (tmp_path / "feature_maps_test0.png").exists() and (tmp_path / "feature_maps_test7.png").exists()


def test_trace_dir_keeps_a_profiler_trace_of_the_first_epoch(tmp_path):
    config = small_config("b_lenet5", train_limit=1000, num_epochs=1, trace_dir=str(tmp_path / "trace"))
    experiment.train_and_evaluate(config, str(tmp_path / "run"))
    assert list((tmp_path / "trace").rglob("*.xplane.pb"))


def _monitor_config(monitor: str, patience: int = 2):
    config = config_base.base_config()
    config.early_stopping_monitor, config.early_stopping_patience, config.num_epochs = monitor, patience, 10
    return config


def _val(accuracy: list[float], loss: list[float]) -> dict[str, np.ndarray]:
    return {"accuracy": np.asarray(accuracy), "loss": np.asarray(loss)}


@pytest.mark.parametrize(
    ("monitor", "expected_best_epoch", "expected_kept_accuracy"),
    [("val_accuracy", 2, 0.81), ("val_loss", 1, 0.80)],
)
def test_early_stopping_monitor_chooses_the_kept_epoch(monitor, expected_best_epoch, expected_kept_accuracy):
    # Epoch 2's accuracy rises while its loss rises too (overconfident mistakes): the two monitors disagree.
    config = _monitor_config(monitor)
    record = loop.fresh_record(config, 1)
    for epoch, (accuracy, loss) in enumerate([(0.80, 0.50), (0.81, 0.55), (0.805, 0.60), (0.79, 0.65)], 1):
        loop._update_best(record, _val([accuracy], [loss]), epoch, config)
        if record["stopped_early"]:
            break
    assert record["best_epoch"] == [expected_best_epoch]
    assert record["best_val_accuracy"] == [expected_kept_accuracy]
    assert record["stopped_early"] and epoch == expected_best_epoch + config.early_stopping_patience


def test_a_record_saved_before_best_val_loss_existed_still_updates():
    config = _monitor_config("val_loss")
    record = loop.fresh_record(config, 2)
    del record["best_val_loss"]  # as checkpoints written before the field was added
    improved = loop._update_best(record, _val([0.8, 0.7], [0.5, 0.6]), 1, config)
    assert improved.tolist() == [True, True] and record["best_val_loss"] == [0.5, 0.6]


def test_a_resume_accepts_a_field_added_since_at_its_default_only(tmp_path):
    config = config_base.base_config()
    saved = json.loads(json.dumps(config.to_dict()))
    del saved["early_stopping_monitor"]  # a run saved before the field existed
    loop.check_same_run(saved, config, tmp_path)  # the same run: the field's default is what it did
    config.early_stopping_monitor = "val_loss"
    expected = "early_stopping_monitor='val_accuracy', this config has early_stopping_monitor='val_loss'"
    with pytest.raises(CheckpointError, match=expected):
        loop.check_same_run(saved, config, tmp_path)


def test_an_unknown_early_stopping_monitor_is_refused():
    config = config_base.config_from_file(config_base.CONFIG_DIR / "e_mlp_small.py")
    config.early_stopping_monitor = "val_auc"
    with pytest.raises(ConfigError, match="early_stopping_monitor='val_auc' is unknown: use one of val_accuracy"):
        config_check.validate(config)


def test_a_member_past_its_patience_keeps_the_model_its_own_run_would_have():
    # Member 0 stalls for 2 epochs (its patience) after epoch 1, then improves at epoch 4: its own run
    # stopped after epoch 3, so epoch 1 stays its model. Member 1 improves every epoch until epoch 4.
    config = _monitor_config("val_accuracy", patience=2)
    record = loop.fresh_record(config, 2)
    accuracies = [(0.80, 0.70), (0.79, 0.71), (0.78, 0.72), (0.90, 0.73), (0.70, 0.60), (0.70, 0.60)]
    for epoch, pair in enumerate(accuracies, 1):
        loop._update_best(record, _val(list(pair), [0.5, 0.5]), epoch, config)
        if record["stopped_early"]:
            break
    assert record["best_epoch"] == [1, 4] and record["best_val_accuracy"] == [0.80, 0.73]
    assert record["stopped_early"] and epoch == 6  # when member 1's patience ran out too
