"""train_and_evaluate(config, workdir): a whole run with checkpoints, resume and results.json.

A run trains its members (ensemble.py: seeds x sweep points; usually one) with one compiled epoch
program, evaluates them on the validation split after every epoch, keeps each member's best model
by validation accuracy, checkpoints everything every epoch, and finally evaluates the best models
on the test set. Killed at any moment and started again with the same command, it continues from
its last checkpoint and ends with the same results as an uninterrupted run.
"""

from __future__ import annotations

import json
import pathlib
import time
from typing import Any

import numpy as np
from absl import logging

from fmnist_jax import checkpoints, environment, loop, metrics, parallel, plots
from fmnist_jax import workdir as run_files
from fmnist_jax.errors import CheckpointError, UserError
from fmnist_jax.loop import Interrupted  # noqa: F401  (what a stopped run raises; callers catch it here)
from fmnist_jax.run import Run

RESULTS_FILE, EVAL_FILE = run_files.RESULTS_FILE, run_files.EVAL_FILE


def _results(run: Run, record: dict[str, Any], test: dict[str, Any], compile_test_s: float) -> dict[str, Any]:
    config, history = run.config, record["history"]
    train_time_s = float(sum(entry["epoch_time_s"] for entry in history))
    num_steps = len(history) * run.steps_per_epoch
    # Images the optimizer saw: a member stopped early trains no more (members_trained, map program).
    member_steps = sum(metrics.members_trained(entry, run.num_members) for entry in history) * run.steps_per_epoch
    images_per_s = member_steps * config.batch_size / train_time_s if train_time_s else 0.0
    results = {
        "config": config.to_dict(),
        "model": config.model,
        "num_seeds": config.num_seeds,
        "num_members": run.num_members,
        "num_params": run.num_params,
        "num_batch_stats": run.num_batch_stats,
        "num_train_examples": len(run.splits.train_labels),
        "num_val_examples": len(run.splits.val_labels),
        "num_test_examples": len(run.splits.test_labels),
        "steps_per_epoch": run.steps_per_epoch,
        "epochs_trained": len(history),
        # The checkpoint whose best models were scored on test (`python -m fmnist_jax.verify` re-scores them).
        "checkpoint_epoch": record["epoch"],
        "stopped_early": record["stopped_early"],
        "history": history,
        **test,
        "compile_time_s": record["compile_time_train_s"] + compile_test_s,
        "train_time_s": train_time_s,
        "step_time_ms": 1e3 * train_time_s / max(num_steps, 1),
        # Images through the optimizer per second, all members together: over the whole training time,
        # and in the median epoch (which an epoch slowed by other work on the machine does not move).
        "images_per_s": images_per_s,
        "median_epoch_images_per_s": metrics.median_epoch_images_per_s(
            history, run.steps_per_epoch * config.batch_size, run.num_members
        ),
        "device": environment.device_info(),
        "parallel": config.parallel,
        "versions": environment.versions(),
        "provenance": environment.provenance(),
        # Each process that trained epochs of this run (a resume is a new one): its epochs, commit and host.
        # A record saved before segments were kept has none.
        "trained_by": record.get("segments", []),
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    results.update(_best_epochs(record, run.num_members))
    return results


def _best_epochs(record: dict[str, Any], num_members: int) -> dict[str, Any]:
    if num_members == 1:
        return {"best_epoch": record["best_epoch"][0], "best_val_accuracy": record["best_val_accuracy"][0]}
    return {
        "best_epoch_per_member": record["best_epoch"],
        "best_val_accuracy_per_member": record["best_val_accuracy"],
        "best_val_accuracy": float(np.mean(record["best_val_accuracy"])),
    }


def finished_results(workdir: pathlib.Path, config: Any) -> dict[str, Any] | None:
    """The results.json of a run this very config finished in workdir, or None. results.json is written
    (atomically) only once a run has trained all its epochs and scored its best models on test, so it is
    the answer by itself: nothing is built, compiled or restored to return it (a rerun of a finished
    suite or search costs no compile). It is also all a fresh clone holds of a committed result (the
    campaign commits results.json, never checkpoints): such a run is not trained again, nor are the
    committed numbers overwritten. None for another config or another num_epochs: then the run resumes
    from its checkpoints, or refuses a mismatch, naming it."""
    path = workdir / run_files.RESULTS_FILE
    if not path.exists():
        return None
    results = json.loads(path.read_text())
    try:
        loop.check_same_run(results["config"], config, workdir)
    except UserError:
        return None
    if results["config"]["num_epochs"] != config.num_epochs:
        return None
    logging.info("%s is finished (epoch %s); not retraining. Results: %s", workdir, results["epochs_trained"], path)
    return results


def train_and_evaluate(config: Any, workdir: str) -> dict[str, Any]:
    """Trains (or resumes) the run in workdir, evaluates its best models on test, writes results.json.

    A finished run is not retrained: its results.json is returned as is (finished_results), also where
    only results.json is left. With config.kfold > 1 it runs k-fold cross-validation instead (see
    cross_validate).
    """
    kept = None if config.eval_only else finished_results(pathlib.Path(workdir), config)
    if kept is not None:
        return kept
    if config.kfold > 1 and config.kfold_index < 0:
        return cross_validate(config, workdir)
    run = Run(config, workdir)
    try:
        if config.eval_only:
            return _evaluate_only(run)
        results_path = run.workdir / RESULTS_FILE
        saved_record = run.checkpoints.latest_record()
        if saved_record is not None:  # Name a config mismatch before the arrays' shapes disagree.
            loop.check_same_run(saved_record["config"], config, run.workdir)
        restored = run.checkpoints.restore_latest(run.state_template, run.best_template)
        if restored is None:
            state, best, record = run.initial_state, None, loop.fresh_record(config, run.num_members)
            if config.kfold_continue and config.kfold_index > 0:
                state = _continue_from_previous_fold(run, state)
        else:
            state, best, record = restored
            loop.check_same_run(record["config"], config, run.workdir)
            loop.check_same_schedule(record["config"], config, run.workdir)
            logging.info("resuming %s from epoch %d", run.workdir, record["epoch"])
        if loop.is_finished(record, config) and results_path.exists():
            # Trained past this config's num_epochs (a search's later rung): that run's results, whose
            # history holds these epochs.
            logging.info(
                "%s is finished (epoch %d); not retraining. Results: %s", run.workdir, record["epoch"], results_path
            )
            return json.loads(results_path.read_text())
        if not loop.is_finished(record, config):
            record = loop.train_epochs(run, state, best, record)
        run.checkpoints.wait()  # The last asynchronous save lands before the best models are read back.
        test, evaluated, compile_test_s = run.evaluate_best_on_test()
        if evaluated["epoch"] != record["epoch"]:  # results.json names the models it scored, or nothing
            raise CheckpointError(
                f"the newest readable checkpoint in {run.checkpoints.directory} is of epoch {evaluated['epoch']}, not "
                f"of epoch {record['epoch']} just trained: run the same command again to retrain from it."
            )
        results = _results(run, evaluated, test, compile_test_s)
        run_files.write_json(results_path, results)
        if parallel.is_primary():
            title = f"{config.model} ({run.workdir.name})"
            plots.plot_curves(results["history"], run.workdir / "curves.png", title, _curve_groups(run))
        logging.info(
            "test_accuracy %.4f test_loss %.4f (best epoch %s); %.1f images/s, step %.2f ms, compile %.1f s -> %s",
            results["test_accuracy"],
            results["test_loss"],
            results.get("best_epoch", results.get("best_epoch_per_member")),
            results["images_per_s"],
            results["step_time_ms"],
            results["compile_time_s"],
            results_path,
        )
        return results
    finally:
        run.close()


def _continue_from_previous_fold(run: Run, state: Any) -> Any:
    """kfold_continue: the fresh state with the params and batch statistics of the previous fold's final
    checkpoint (what Keras' model holds after that fold's fit()); optimizer state, step and key stay fresh."""
    previous = run.workdir.parent / f"fold_{run.config.kfold_index - 1}"
    restored = checkpoints.RunCheckpoints(previous, run.config.checkpoint_keep)
    try:
        found = restored.restore_newest_state(run.state_template)
    finally:
        restored.close()
    if found is None:
        raise CheckpointError(
            f"config field kfold_continue=True: fold {run.config.kfold_index} starts from the final model of "
            f"{previous}, which has no checkpoint: train that fold again (remove its results.json)."
        )
    previous_state, record = found
    logging.info("kfold_continue: fold %d starts from %s (epoch %d)", run.config.kfold_index, previous, record["epoch"])
    return state.replace(params=previous_state.params, batch_stats=previous_state.batch_stats)


def _curve_groups(run: Run) -> list[tuple[str, slice]]:
    """The lines of curves.png: none for one member; the seeds' mean and range; or one per sweep point."""
    layout = run.layout
    if layout.num_members == 1:
        return []
    if not layout.is_sweep:
        return [(f"mean of {layout.num_seeds} seeds", slice(None))]
    groups = []
    for point in range(layout.num_points):
        hyperparams = layout.point_hyperparams(point)
        label = f"lr {hyperparams['learning_rate']:.3g}, wd {hyperparams['weight_decay']:.3g}"
        groups.append((label, layout.point_members(point)))
    return groups


def _evaluate_only(run: Run) -> dict[str, Any]:
    test, record, compile_s = run.evaluate_best_on_test()
    results = {
        **test,
        **_best_epochs(record, run.num_members),
        "num_seeds": run.config.num_seeds,
        "num_members": run.num_members,
        "compile_time_s": compile_s,
        "config": run.config.to_dict(),
        "device": environment.device_info(),
    }
    run_files.write_json(run.workdir / EVAL_FILE, results)
    logging.info(
        "eval_only: best checkpoint test_accuracy %.4f test_loss %.4f -> %s",
        test["test_accuracy"],
        test["test_loss"],
        run.workdir / EVAL_FILE,
    )
    if "ensemble_test_accuracy_mean_prob" in test:
        logging.info(
            "eval_only: ensemble test_accuracy %.4f (mean probability), %.4f (vote)",
            test["ensemble_test_accuracy_mean_prob"],
            test["ensemble_test_accuracy_vote"],
        )
    return results


def cross_validate(config: Any, workdir: str) -> dict[str, Any]:
    """k-fold cross-validation: fold i trains in workdir/fold_i and validates on the i-th stratified fold.

    Each fold is a full run (checkpointed, resumable, evaluated on test). workdir/results.json holds
    every fold's results and their summary (kfold_summary).
    """
    root = run_files.prepare(workdir)
    folds = []
    for fold_index in range(config.kfold):
        fold_config = config.copy_and_resolve_references()
        fold_config.kfold_index = fold_index
        logging.info("k-fold: fold %d of %d", fold_index + 1, config.kfold)
        folds.append(train_and_evaluate(fold_config, str(root / f"fold_{fold_index}")))
    if config.eval_only:
        test_accuracies = [fold["test_accuracy"] for fold in folds]
        return {"test_accuracy": float(np.mean(test_accuracies)), "test_accuracy_per_fold": test_accuracies}
    summary = kfold_summary(config, folds)
    run_files.write_json(root / RESULTS_FILE, summary)
    logging.info(
        "k-fold (%d): val_accuracy %.4f +- %.4f, test_accuracy %.4f +- %.4f; best fold (by val) %d: test %.4f",
        config.kfold,
        summary["val_accuracy_mean"],
        summary["val_accuracy_std"],
        summary["test_accuracy"],
        summary["test_accuracy_std"],
        summary["best_fold"],
        summary["best_fold_test_accuracy"],
    )
    return summary


def kfold_summary(config: Any, folds: list[dict[str, Any]]) -> dict[str, Any]:
    """Every fold's results and their summary: per-fold and mean +- std (sample std) of the best val
    accuracy and of the test accuracy (test_accuracy is the folds' mean), and the best fold.

    The best fold is the one with the highest validation accuracy on its own held-out fold (never
    chosen by test): Report A's 92.59 % is "the best performance model out of all", one fold's model.
    """
    val_accuracies = np.array([fold["best_val_accuracy"] for fold in folds])
    test_accuracies = np.array([fold["test_accuracy"] for fold in folds])
    best_fold = int(np.argmax(val_accuracies))
    return {
        "config": config.to_dict(),
        "model": config.model,
        "num_params": folds[0]["num_params"],
        "kfold": config.kfold,
        "num_seeds": config.num_seeds,
        "epochs_trained": folds[0]["epochs_trained"],
        "val_accuracy_per_fold": val_accuracies.tolist(),
        "val_accuracy_mean": float(val_accuracies.mean()),
        "val_accuracy_std": float(val_accuracies.std(ddof=1)),
        "best_val_accuracy": float(val_accuracies.mean()),  # what a single run's row shows
        "test_accuracy_per_fold": test_accuracies.tolist(),
        "test_accuracy": float(test_accuracies.mean()),
        "test_accuracy_std": float(test_accuracies.std(ddof=1)),
        "test_loss": float(np.mean([fold["test_loss"] for fold in folds])),
        "best_fold": best_fold,
        "best_fold_val_accuracy": float(val_accuracies[best_fold]),
        "best_fold_test_accuracy": float(test_accuracies[best_fold]),
        "best_fold_test_loss": float(folds[best_fold]["test_loss"]),
        "compile_time_s": float(sum(fold["compile_time_s"] for fold in folds)),
        "train_time_s": float(sum(fold["train_time_s"] for fold in folds)),
        "step_time_ms": float(np.mean([fold["step_time_ms"] for fold in folds])),
        "images_per_s": float(np.mean([fold["images_per_s"] for fold in folds])),
        "device": folds[0]["device"],
        "versions": folds[0]["versions"],
        "provenance": environment.provenance(),
        "history": folds[0]["history"],
        "folds": folds,
    }
