"""train_and_evaluate(config, workdir): a whole run with checkpoints, resume and results.json."""

from __future__ import annotations

import json
import os
import pathlib
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

import flax
import jax
import numpy as np
import tqdm
from absl import logging

from fmnist_jax import augment, checkpoints, config_check, data, environment, layers, optim, train
from fmnist_jax import metrics as evaluation
from fmnist_jax import report as plots
from fmnist_jax.errors import CheckpointError, UserError
from fmnist_jax.models import build_model

RESULTS_FILE = "results.json"
EVAL_FILE = "eval.json"
# Fields that may change between a run and its resume without changing what is being trained.
RESUMABLE_FIELD_CHANGES = frozenset(
    {
        "eval_only",
        "num_epochs",
        "data_dir",
        "data_source",
        "checkpoint_keep",
        "eval_batch_size",
        "conv_impl",
        "feature_map_images",
        "reference",
    }
)


def prepare_workdir(workdir: str) -> pathlib.Path:
    """Creates the workdir, or raises a one-line UserError when it is a file or not writable."""
    path = pathlib.Path(workdir)
    if path.exists() and not path.is_dir():
        raise UserError(f"--workdir {workdir} is a file, not a directory: choose another --workdir.")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"--workdir {workdir} cannot be created ({e.strerror}): choose a writable --workdir.") from None
    if not os.access(path, os.W_OK):
        raise UserError(f"--workdir {workdir} is not writable: choose a writable --workdir.")
    return path


def write_json(path: pathlib.Path, payload: dict[str, Any]) -> None:
    """Writes atomically: a reader never sees half a file, a crash never leaves one."""
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(payload, indent=2, sort_keys=False))
    tmp.replace(path)


def _check_same_run(saved_config: dict[str, Any], config: Any, workdir: pathlib.Path) -> None:
    current = json.loads(json.dumps(config.to_dict()))  # as saved: tuples become lists
    for field in sorted(set(saved_config) | set(current)):
        if field in RESUMABLE_FIELD_CHANGES:
            continue
        if saved_config.get(field) != current.get(field):
            raise CheckpointError(
                f"workdir {workdir} holds a run with {field}={saved_config.get(field)!r}, this config has "
                f"{field}={current.get(field)!r}: use another --workdir, or the config of that run."
            )


def _timed_compile(fn: Callable[..., Any], *args: Any, donate: bool = False) -> tuple[Any, float]:
    """Ahead-of-time compiles fn for these argument shapes; returns (executable, seconds)."""
    start = time.perf_counter()
    compiled = jax.jit(fn, donate_argnums=(0,) if donate else ()).lower(*args).compile()
    return compiled, time.perf_counter() - start


def _host_metrics(metrics: dict[str, jax.Array]) -> dict[str, float]:
    return {name: float(value) for name, value in metrics.items() if np.ndim(value) == 0}


class Run:
    """What every run needs: the config, the model, its initial state and the checkpoints.

    With config.num_seeds = N > 1 the state has a leading members axis: N independent models
    (member k seeded with config.seed + k) trained by one vmapped program.
    """

    def __init__(self, config: Any, workdir: str):
        config_check.validate(config)
        self.config = config
        self.workdir = prepare_workdir(workdir)
        self.splits = data.make_splits(
            data.load_dataset(config.data_source, config.data_dir),
            val_fraction=config.val_fraction,
            split_seed=config.split_seed,
            train_limit=config.train_limit,
            num_folds=config.kfold,
            fold_index=config.kfold_index,
            fold_val_into_train=config.fold_val_into_train,
        )
        num_train = len(self.splits.train_labels)
        if config.batch_size > num_train:
            raise UserError(
                f"config field batch_size={config.batch_size} is larger than the {num_train} training examples: "
                "lower --config.batch_size."
            )
        self.steps_per_epoch = num_train // config.batch_size
        self.train_options = train.TrainOptions(
            batch_size=config.batch_size,
            augment=augment.spec_from_config(config.augment),
            conv_kernel_l2=config.conv_kernel_l2,
        )
        self.model = build_model(config)
        self.tx = optim.make_optimizer(config, self.steps_per_epoch)
        self.num_seeds = config.num_seeds
        if self.num_seeds == 1:
            self.initial_state = train.create_train_state(self.model, self.tx, config.seed)
        else:
            seeds = config.seed + jax.numpy.arange(self.num_seeds)
            self.initial_state = train.create_member_states(self.model, self.tx, seeds)
        self.num_params = train.count_params(self.initial_state.params) // self.num_seeds
        self.num_batch_stats = train.count_params(self.initial_state.batch_stats) // self.num_seeds
        # Restores need shapes, dtypes and shardings only; the initial state itself is donated to training.
        self.state_template = checkpoints.abstract_like(self.initial_state)
        self.checkpoints = checkpoints.RunCheckpoints(self.workdir, config.checkpoint_keep)

    def compile_evaluate(self, state: train.TrainState, images: jax.Array, labels: jax.Array) -> tuple[Any, float]:
        evaluate = train.over_members(train.make_evaluate(self.config.eval_batch_size), self.num_seeds)
        return _timed_compile(evaluate, state, images, labels)

    def evaluate_best_on_test(self) -> tuple[dict[str, Any], dict[str, Any], float]:
        """Restores the best checkpoint and evaluates it on the test set: (test results, record, compile s).

        The results hold test_loss, test_accuracy and test_metrics (confusion matrix, per-class
        precision / recall / F1, ROC AUC); with several members also each member's numbers, their
        mean, std and 95 % CI, and the ensemble's accuracy by mean probability and by majority vote
        (test_metrics then describe the mean-probability ensemble). Plots go to the workdir.
        """
        restored = self.checkpoints.restore_best(self.state_template)
        if restored is None:
            raise CheckpointError(
                f"workdir {self.workdir} has no best checkpoint to evaluate: train first (without eval_only)."
            )
        state, record = restored
        record = _per_member_record(record)
        test_images = jax.device_put(self.splits.test_images)
        test_labels = jax.device_put(self.splits.test_labels)
        evaluate, compile_s = self.compile_evaluate(state, test_images, test_labels)
        metrics = evaluate(state, test_images, test_labels)
        labels = self.splits.test_labels
        logits = np.asarray(metrics["logits"])
        if self.num_seeds == 1:
            results = {"test_loss": float(metrics["loss"]), "test_accuracy": float(metrics["accuracy"])}
            report_logits = logits
        else:
            results = _ensemble_test_results(
                np.asarray(metrics["loss"]), np.asarray(metrics["accuracy"]), logits, labels
            )
            report_logits = np.log(evaluation.ensemble_predictions(logits)[0])
        results["test_metrics"] = evaluation.evaluation_metrics(labels, report_logits, data.CLASS_NAMES)
        what = "ensemble (mean probability)" if self.num_seeds > 1 else f"best epoch {record['best_epoch'][0]}"
        title = f"{self.config.model} ({self.workdir.name}), {what}, test accuracy {results['test_accuracy']:.4f}"
        plots.plot_confusion_matrix(
            np.asarray(results["test_metrics"]["confusion_matrix"]),
            data.CLASS_NAMES,
            self.workdir / "confusion_matrix.png",
            title,
        )
        if self.config.feature_map_images:
            first_member = state if self.num_seeds == 1 else jax.tree_util.tree_map(lambda x: x[0], state)
            self.save_feature_maps(first_member)
        return results, record, compile_s

    def save_feature_maps(self, state: train.TrainState) -> None:
        """Activations of every conv and pool layer for the chosen test images, one PNG each."""
        for index in self.config.feature_map_images:
            image = self.splits.test_images[index]
            _, captured = state.apply_fn(
                {"params": state.params, "batch_stats": state.batch_stats},
                train.to_model_input(image[None]),
                train=False,
                capture_intermediates=lambda module, _: isinstance(module, layers.FEATURE_MAP_LAYERS),
                mutable=["intermediates"],
            )
            flat = flax.traverse_util.flatten_dict(flax.core.unfreeze(captured["intermediates"]), sep="/")
            activations = {name.removesuffix("/__call__"): np.asarray(value[0][0]) for name, value in flat.items()}
            label = data.CLASS_NAMES[self.splits.test_labels[index]]
            plots.plot_feature_maps(
                image, activations, self.workdir / f"feature_maps_test{index}.png", f"test image {index} ({label})"
            )


def _ensemble_test_results(
    member_loss: np.ndarray, member_accuracy: np.ndarray, member_logits: np.ndarray, labels: np.ndarray
) -> dict[str, Any]:
    """Per-member test numbers, their mean / std / 95 % CI, and the ensemble's own accuracy and loss."""
    accuracy = evaluation.mean_std_ci95(member_accuracy)
    mean_probability, vote = evaluation.ensemble_predictions(member_logits)
    true_class_probability = mean_probability[np.arange(len(labels)), labels]
    return {
        "test_loss": float(member_loss.mean()),
        "test_accuracy": accuracy["mean"],
        "test_loss_per_seed": member_loss.tolist(),
        "test_accuracy_per_seed": member_accuracy.tolist(),
        "test_accuracy_mean": accuracy["mean"],
        "test_accuracy_std": accuracy["std"],
        "test_accuracy_ci95": accuracy["ci95"],
        "ensemble_test_accuracy_mean_prob": float((mean_probability.argmax(axis=-1) == labels).mean()),
        "ensemble_test_loss_mean_prob": float(-np.log(np.maximum(true_class_probability, 1e-12)).mean()),
        "ensemble_test_accuracy_vote": float((vote == labels).mean()),
    }


def _fresh_record(config: Any) -> dict[str, Any]:
    """The run's progress, saved with every checkpoint; per-member lists have one entry per seed."""
    return {
        "epoch": 0,
        "history": [],
        "best_val_accuracy": [-1.0] * config.num_seeds,
        "best_epoch": [0] * config.num_seeds,
        "epochs_without_improvement": [0] * config.num_seeds,
        "stopped_early": False,
        "compile_time_train_s": 0.0,
        "config": config.to_dict(),
    }


def _per_member_record(record: dict[str, Any]) -> dict[str, Any]:
    """Records written before ensembles held scalars where there are now per-member lists."""
    for field in ("best_val_accuracy", "best_epoch", "epochs_without_improvement"):
        if not isinstance(record[field], list):
            record[field] = [record[field]]
    return record


def _is_finished(record: dict[str, Any], config: Any) -> bool:
    return record["stopped_early"] or record["epoch"] >= config.num_epochs


def _epoch_entry(epoch: int, train_metrics: dict[str, Any], val_metrics: dict[str, Any], num_seeds: int) -> dict:
    """One history entry: means over members, plus each member's value when there are several."""
    values = {
        "train_loss": np.asarray(train_metrics["train_loss"]),
        "train_accuracy": np.asarray(train_metrics["train_accuracy"]),
        "val_loss": np.asarray(val_metrics["loss"]),
        "val_accuracy": np.asarray(val_metrics["accuracy"]),
    }
    entry: dict[str, Any] = {"epoch": epoch, **{name: float(value.mean()) for name, value in values.items()}}
    if num_seeds > 1:
        entry.update({f"{name}_per_seed": value.tolist() for name, value in values.items()})
    return entry


def _train(run: Run, state: train.TrainState, record: dict[str, Any]) -> dict[str, Any]:
    """Trains from record['epoch'] to the end (or early stop), checkpointing every epoch.

    Early stopping and the best checkpoint are per member: a member past its patience keeps
    training in lockstep, but its best state is the one kept and evaluated; the run stops when
    every member has stopped.
    """
    config, splits = run.config, run.splits
    train_images, train_labels = jax.device_put(splits.train_images), jax.device_put(splits.train_labels)
    val_images, val_labels = jax.device_put(splits.val_images), jax.device_put(splits.val_labels)
    train_epoch, compile_train_s = _timed_compile(
        train.over_members(train.make_train_epoch(run.train_options), run.num_seeds),
        state,
        train_images,
        train_labels,
        donate=True,
    )
    evaluate, compile_eval_s = run.compile_evaluate(state, val_images, val_labels)
    record["compile_time_train_s"] += compile_train_s + compile_eval_s
    logging.info("compiled the train epoch in %.1f s and evaluation in %.1f s", compile_train_s, compile_eval_s)
    schedule = optim.make_schedule(config, run.steps_per_epoch)
    restored_best = run.checkpoints.restore_best(run.state_template) if record["epoch"] else None
    best_state = restored_best[0] if restored_best else None  # `state` itself is donated to the next epoch
    patience = config.early_stopping_patience

    epochs = tqdm.trange(
        record["epoch"],
        config.num_epochs,
        initial=record["epoch"],
        total=config.num_epochs,
        desc=f"{config.model} epochs",
        unit="epoch",
        disable=None,
    )
    stop_request = _StopRequest()
    try:
        for epoch_index in epochs:
            start = time.perf_counter()
            state, train_metrics = train_epoch(state, train_images, train_labels)
            train_metrics = jax.block_until_ready(train_metrics)
            epoch_time_s = time.perf_counter() - start
            start = time.perf_counter()
            val_metrics = jax.block_until_ready(evaluate(state, val_images, val_labels))
            val_time_s = time.perf_counter() - start

            epoch = epoch_index + 1
            entry = _epoch_entry(epoch, train_metrics, val_metrics, run.num_seeds)
            entry.update(
                learning_rate=float(schedule(epoch * run.steps_per_epoch - 1)),
                epoch_time_s=epoch_time_s,
                val_time_s=val_time_s,
            )
            _check_finite(train_metrics, epoch, run, record)
            record["history"].append(entry)
            record["epoch"] = epoch
            val_accuracy = np.atleast_1d(np.asarray(val_metrics["accuracy"]))
            # With validation folded into training, val accuracy selects nothing: the last epoch is "best".
            improved = (
                np.ones_like(val_accuracy, bool)
                if config.fold_val_into_train
                else (val_accuracy > np.asarray(record["best_val_accuracy"]))
            )
            for member in np.flatnonzero(improved):
                record["best_val_accuracy"][member] = float(val_accuracy[member])
                record["best_epoch"][member] = epoch
            record["epochs_without_improvement"] = [
                0 if better else waited + 1
                for better, waited in zip(improved, record["epochs_without_improvement"], strict=True)
            ]
            record["stopped_early"] = bool(
                patience and min(record["epochs_without_improvement"]) >= patience and epoch < config.num_epochs
            )
            if improved.any():
                member_axis_improved = jax.numpy.asarray(improved if run.num_seeds > 1 else improved[0])
                best_state = train.keep_improved(
                    member_axis_improved, state, state if best_state is None else best_state
                )
            run.checkpoints.save(epoch, state, record, best_state=best_state if improved.any() else None)
            logging.info(
                "epoch %d/%d: train_loss %.4f train_accuracy %.4f val_loss %.4f val_accuracy %.4f lr %.3g "
                "(%.2f s, %.0f images/s)%s",
                epoch,
                config.num_epochs,
                entry["train_loss"],
                entry["train_accuracy"],
                entry["val_loss"],
                entry["val_accuracy"],
                entry["learning_rate"],
                epoch_time_s,
                run.num_seeds * run.steps_per_epoch * config.batch_size / epoch_time_s,
                f" [mean of {run.num_seeds} members]" if run.num_seeds > 1 else "",
            )
            epochs.set_postfix(loss=f"{entry['train_loss']:.3f}", val_acc=f"{entry['val_accuracy']:.4f}")
            if record["stopped_early"]:
                logging.info("early stopping: no better val_accuracy for %d epochs", patience)
                break
            if stop_request.signal_name:
                run.checkpoints.wait()
                raise Interrupted(
                    f"stopped by {stop_request.signal_name} after epoch {epoch} of {config.num_epochs}; its "
                    f"checkpoint is saved in {run.workdir}: run the same command again to resume."
                )
    finally:
        stop_request.restore()
        epochs.close()
    return record


class Interrupted(UserError):
    """SIGTERM or SIGINT arrived: the epoch in flight finished and was checkpointed."""


class _StopRequest:
    """Turns the first SIGTERM/SIGINT into a request to stop after the current epoch; a second SIGINT
    interrupts at once (KeyboardInterrupt), as usual."""

    def __init__(self) -> None:
        self.signal_name = ""
        self._previous = {}
        if threading.current_thread() is threading.main_thread():  # handlers can only be set there
            for sig in (signal.SIGTERM, signal.SIGINT):
                self._previous[sig] = signal.signal(sig, self._request)

    def _request(self, signum: int, frame: Any) -> None:
        if self.signal_name and signum == signal.SIGINT:
            self.restore()
            raise KeyboardInterrupt
        self.signal_name = signal.Signals(signum).name
        logging.warning("%s received: finishing epoch in flight, then saving and stopping", self.signal_name)

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous = {}


def _check_finite(train_metrics: dict[str, Any], epoch: int, run: Run, record: dict[str, Any]) -> None:
    """nan_policy=stop: a NaN/Inf loss ends the run naming where, before that epoch is checkpointed."""
    num_nonfinite = np.atleast_1d(np.asarray(train_metrics["num_nonfinite_steps"]))
    if not num_nonfinite.any():
        return
    first_step = np.atleast_1d(np.asarray(train_metrics["first_nonfinite_step"]))
    member = int(np.flatnonzero(num_nonfinite)[0])
    where = (
        f"step {int(first_step[member])} of epoch {epoch} (global step "
        f"{(epoch - 1) * run.steps_per_epoch + int(first_step[member])})"
    )
    where += f", member {member}" if run.num_seeds > 1 else ""
    if run.config.nan_policy == "skip_step":
        logging.warning(
            "%d step(s) with a NaN/Inf loss were skipped in epoch %d, the first at %s",
            int(num_nonfinite.sum()),
            epoch,
            where,
        )
        return
    raise UserError(
        f"training diverged: the loss is NaN or Inf at {where}; the last good checkpoint (epoch {record['epoch']}) "
        "is kept: lower --config.learning_rate, or set --config.nan_policy=skip_step."
    )


def _results(run: Run, record: dict[str, Any], test: dict[str, Any], compile_test_s: float) -> dict[str, Any]:
    config, history = run.config, record["history"]
    train_time_s = float(sum(entry["epoch_time_s"] for entry in history))
    num_steps = len(history) * run.steps_per_epoch
    images_per_s = run.num_seeds * num_steps * config.batch_size / train_time_s if train_time_s else 0.0
    results = {
        "config": config.to_dict(),
        "model": config.model,
        "num_seeds": run.num_seeds,
        "num_params": run.num_params,
        "num_batch_stats": run.num_batch_stats,
        "num_train_examples": len(run.splits.train_labels),
        "num_val_examples": len(run.splits.val_labels),
        "num_test_examples": len(run.splits.test_labels),
        "steps_per_epoch": run.steps_per_epoch,
        "epochs_trained": len(history),
        "stopped_early": record["stopped_early"],
        "history": history,
        **test,
        "compile_time_s": record["compile_time_train_s"] + compile_test_s,
        "train_time_s": train_time_s,
        "step_time_ms": 1e3 * train_time_s / max(num_steps, 1),
        # Images through the optimizer per second, all members together.
        "images_per_s": images_per_s,
        "device": environment.device_info(),
        "versions": environment.versions(),
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    results.update(_best_epochs(record, run.num_seeds))
    return results


def _best_epochs(record: dict[str, Any], num_seeds: int) -> dict[str, Any]:
    if num_seeds == 1:
        return {"best_epoch": record["best_epoch"][0], "best_val_accuracy": record["best_val_accuracy"][0]}
    return {
        "best_epoch_per_seed": record["best_epoch"],
        "best_val_accuracy_per_seed": record["best_val_accuracy"],
        "best_val_accuracy": float(np.mean(record["best_val_accuracy"])),
    }


def train_and_evaluate(config: Any, workdir: str) -> dict[str, Any]:
    """Trains (or resumes) the run in workdir, evaluates its best checkpoint on test, writes results.json.

    A finished run is not retrained: its results.json is returned as is. With config.kfold > 1 it
    runs k-fold cross-validation instead (see cross_validate).
    """
    if config.kfold > 1 and config.kfold_index < 0:
        return cross_validate(config, workdir)
    run = Run(config, workdir)
    try:
        if config.eval_only:
            return _evaluate_only(run)
        results_path = run.workdir / RESULTS_FILE
        saved_record = run.checkpoints.latest_record()
        if saved_record is not None:  # Name a config mismatch before the arrays' shapes disagree.
            _check_same_run(saved_record["config"], config, run.workdir)
        restored = run.checkpoints.restore_latest(run.state_template)
        if restored is None:
            state, record = run.initial_state, _fresh_record(config)
        else:
            state, record = restored
            record = _per_member_record(record)
            _check_same_run(record["config"], config, run.workdir)
            logging.info("resuming %s from epoch %d", run.workdir, record["epoch"])
        if _is_finished(record, config) and results_path.exists():
            logging.info(
                "%s is finished (epoch %d); not retraining. Results: %s", run.workdir, record["epoch"], results_path
            )
            return json.loads(results_path.read_text())
        if not _is_finished(record, config):
            record = _train(run, state, record)
        run.checkpoints.wait()  # Pending asynchronous saves land before the best one is read back.
        test, _, compile_test_s = run.evaluate_best_on_test()
        results = _results(run, record, test, compile_test_s)
        write_json(results_path, results)
        plots.plot_curves(results["history"], run.workdir / "curves.png", f"{config.model} ({run.workdir.name})")
        logging.info(
            "test_accuracy %.4f test_loss %.4f (best epoch %s); %.1f images/s, step %.2f ms, compile %.1f s -> %s",
            results["test_accuracy"],
            results["test_loss"],
            results.get("best_epoch", results.get("best_epoch_per_seed")),
            results["images_per_s"],
            results["step_time_ms"],
            results["compile_time_s"],
            results_path,
        )
        return results
    finally:
        run.checkpoints.close()


def _evaluate_only(run: Run) -> dict[str, Any]:
    test, record, compile_s = run.evaluate_best_on_test()
    results = {
        **test,
        **_best_epochs(record, run.num_seeds),
        "num_seeds": run.num_seeds,
        "compile_time_s": compile_s,
        "config": run.config.to_dict(),
        "device": environment.device_info(),
    }
    write_json(run.workdir / EVAL_FILE, results)
    logging.info(
        "eval_only: best checkpoint test_accuracy %.4f test_loss %.4f -> %s",
        test["test_accuracy"],
        test["test_loss"],
        run.workdir / EVAL_FILE,
    )
    if run.num_seeds > 1:
        logging.info(
            "eval_only: ensemble test_accuracy %.4f (mean probability), %.4f (vote)",
            test["ensemble_test_accuracy_mean_prob"],
            test["ensemble_test_accuracy_vote"],
        )
    return results


def cross_validate(config: Any, workdir: str) -> dict[str, Any]:
    """k-fold cross-validation: fold i trains in workdir/fold_i and validates on the i-th stratified fold.

    Each fold is a full run (checkpointed, resumable, evaluated on test). workdir/results.json holds
    every fold's results and their summary: per-fold and mean +- std (sample std) of the best val
    accuracy and of the test accuracy; its test_accuracy is the folds' mean.
    """
    root = prepare_workdir(workdir)
    folds = []
    for fold_index in range(config.kfold):
        fold_config = config.copy_and_resolve_references()
        fold_config.kfold_index = fold_index
        logging.info("k-fold: fold %d of %d", fold_index + 1, config.kfold)
        folds.append(train_and_evaluate(fold_config, str(root / f"fold_{fold_index}")))
    if config.eval_only:
        test_accuracies = [fold["test_accuracy"] for fold in folds]
        return {"test_accuracy": float(np.mean(test_accuracies)), "test_accuracy_per_fold": test_accuracies}
    val_accuracies = np.array([fold["best_val_accuracy"] for fold in folds])
    test_accuracies = np.array([fold["test_accuracy"] for fold in folds])
    summary = {
        "config": config.to_dict(),
        "model": config.model,
        "num_params": folds[0]["num_params"],
        "kfold": config.kfold,
        "val_accuracy_per_fold": val_accuracies.tolist(),
        "val_accuracy_mean": float(val_accuracies.mean()),
        "val_accuracy_std": float(val_accuracies.std(ddof=1)),
        "test_accuracy_per_fold": test_accuracies.tolist(),
        "test_accuracy": float(test_accuracies.mean()),
        "test_accuracy_std": float(test_accuracies.std(ddof=1)),
        "test_loss": float(np.mean([fold["test_loss"] for fold in folds])),
        "compile_time_s": float(sum(fold["compile_time_s"] for fold in folds)),
        "train_time_s": float(sum(fold["train_time_s"] for fold in folds)),
        "step_time_ms": float(np.mean([fold["step_time_ms"] for fold in folds])),
        "images_per_s": float(np.mean([fold["images_per_s"] for fold in folds])),
        "device": folds[0]["device"],
        "versions": folds[0]["versions"],
        "history": folds[0]["history"],
        "folds": folds,
    }
    write_json(root / RESULTS_FILE, summary)
    logging.info(
        "k-fold (%d): val_accuracy %.4f +- %.4f, test_accuracy %.4f +- %.4f",
        config.kfold,
        summary["val_accuracy_mean"],
        summary["val_accuracy_std"],
        summary["test_accuracy"],
        summary["test_accuracy_std"],
    )
    return summary
