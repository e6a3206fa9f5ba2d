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

from fmnist_jax import (
    checkpoints,
    config_check,
    data,
    ensemble,
    environment,
    events,
    layers,
    optim,
    parallel,
    plots,
    train,
)
from fmnist_jax import metrics as evaluation
from fmnist_jax import workdir as run_files
from fmnist_jax.errors import CheckpointError, UserError
from fmnist_jax.models import build_model

RESULTS_FILE, EVAL_FILE = run_files.RESULTS_FILE, run_files.EVAL_FILE
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
        "parallel",
        "tensorboard",
        "test_time_flip",
    }
)


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


# Schedules whose learning rate at a step depends on num_epochs (their length): a resumed run that
# changed num_epochs would follow another curve than the one it started on. Constant and step decay
# (boundaries every decay_every_epochs) give every epoch already trained the same rate either way.
LENGTH_DEPENDENT_SCHEDULES = ("cosine", "one_cycle")


def _check_same_schedule(saved_config: dict[str, Any], config: Any, workdir: pathlib.Path) -> None:
    if config.schedule in LENGTH_DEPENDENT_SCHEDULES and saved_config["num_epochs"] != config.num_epochs:
        raise CheckpointError(
            f"workdir {workdir} holds a run with num_epochs={saved_config['num_epochs']} on a {config.schedule} "
            f"schedule, which depends on it; this config has num_epochs={config.num_epochs}: resume with "
            f"--config.num_epochs={saved_config['num_epochs']}, or use another --workdir."
        )


def timed_compile(fn: Callable[..., Any], *args: Any, donate: bool = False) -> tuple[Any, float]:
    """Ahead-of-time compiles fn for these argument shapes; returns (executable, seconds)."""
    start = time.perf_counter()
    compiled = jax.jit(fn, donate_argnums=(0,) if donate else ()).lower(*args).compile()
    return compiled, time.perf_counter() - start


class Run:
    """What every run needs: the config, the data, the members, the model and its initial state.

    With several members (num_seeds > 1 or a sweep) the state has a leading members axis,
    trained by one vmapped program.
    """

    def __init__(self, config: Any, workdir: str):
        config_check.validate(config)
        self.config = config
        self.workdir = run_files.prepare(workdir)
        self.lock = run_files.lock(self.workdir)  # one process per workdir; the OS releases it on exit
        self.splits = data.make_splits(
            data.load_dataset(config.data_source, config.data_dir),
            val_fraction=config.val_fraction,
            split_seed=config.split_seed,
            train_limit=config.train_limit,
            num_folds=config.kfold,
            fold_index=config.kfold_index,
            fold_val_into_train=config.fold_val_into_train,
            val_split=config.val_split,
        )
        num_train = len(self.splits.train_labels)
        if config.batch_size > num_train:
            raise UserError(
                f"config field batch_size={config.batch_size} is larger than the {num_train} training examples: "
                "lower --config.batch_size."
            )
        self.steps_per_epoch = num_train // config.batch_size
        self.layout = ensemble.layout_from_config(config)
        self.num_members = self.layout.num_members
        self.placement = parallel.make_placement(
            config.parallel,
            num_members=self.num_members,
            batch_size=config.batch_size,
            eval_batch_size=config.eval_batch_size,
        )
        self.train_options = train.options_from_config(config, self.placement.batch_sharding)
        # Keras reports the loss with the regulariser's term: evaluation reports it too (loss_with_penalty).
        options = self.train_options
        self.penalty = (lambda params: train.l2_penalty(params, options)) if config.conv_kernel_l2 else None
        self.model = build_model(config)
        self.tx = optim.make_optimizer(config, self.steps_per_epoch)
        state = ensemble.create_states(self.model, self.tx, self.layout)
        self.num_params = train.count_params(state.params) // self.num_members
        self.num_batch_stats = train.count_params(state.batch_stats) // self.num_members
        self.initial_state = self.placement.put(state, member_axis=self.num_members > 1)
        # Restores need shapes, dtypes and shardings only; the initial state itself is donated to training.
        self.state_template = checkpoints.abstract_like(self.initial_state)
        self.best_template = checkpoints.abstract_like(train.model_variables(self.initial_state))
        self.checkpoints = checkpoints.RunCheckpoints(self.workdir, config.checkpoint_keep)

    def close(self) -> None:
        """Finishes a pending save, releases the checkpoint manager, then the workdir's lock."""
        try:
            self.checkpoints.close()
        finally:
            if self.lock is not None:
                self.lock.close()

    def put_split(self, images: np.ndarray, labels: np.ndarray) -> tuple[jax.Array, jax.Array]:
        """A split on the device(s), once, as uint8: replicated on every device of the mesh."""
        return self.placement.put(images), self.placement.put(labels)

    def compile_evaluate(self, variables: Any, images: jax.Array, labels: jax.Array) -> tuple[Any, float]:
        evaluate = train.make_evaluate(
            self.model.apply,
            self.config.eval_batch_size,
            test_time_flip=self.config.test_time_flip,
            batch_sharding=self.placement.batch_sharding,
            penalty=self.penalty,
        )
        return timed_compile(ensemble.over_members(evaluate, self.num_members), variables, images, labels)

    def evaluate_best_on_test(
        self, epoch: int | None = None, plot: bool = True
    ) -> tuple[dict[str, Any], dict[str, Any], float]:
        """Restores the best models (of the newest checkpoint, or of `epoch`'s) and evaluates them on the
        test set: (test results, the checkpoint's record, compile s).

        The results hold test_loss, test_accuracy and test_metrics (confusion matrix, per-class
        precision / recall / F1, ROC AUC); with several members also each member's numbers, their
        mean, std and 95 % CI, and the ensemble's accuracy (test_metrics then describe the
        mean-probability ensemble); with a sweep, all that per sweep point. Plots go to the workdir.
        """
        restored = self.checkpoints.restore_best(self.best_template, epoch)
        if restored is None:
            raise CheckpointError(
                f"workdir {self.workdir} has no checkpoint to evaluate: train first (without eval_only)."
            )
        best, record = restored
        test_images, test_labels = self.put_split(self.splits.test_images, self.splits.test_labels)
        evaluate, compile_s = self.compile_evaluate(best, test_images, test_labels)
        metrics = parallel.to_host(evaluate(best, test_images, test_labels))
        results, report_logits = results_on_test_set(
            self.layout, metrics, self.splits.test_labels, record["best_val_accuracy"]
        )
        if "loss_with_penalty" in metrics:  # the members' mean (the chosen sweep point's), as test_loss
            with_penalty = np.atleast_1d(metrics["loss_with_penalty"])
            members = self.layout.point_members(results["best_sweep_point"]) if self.layout.is_sweep else slice(None)
            results["test_loss_with_penalty"] = float(with_penalty[members].mean())
        results["test_metrics"] = evaluation.evaluation_metrics(
            self.splits.test_labels, report_logits, data.CLASS_NAMES
        )
        if plot and parallel.is_primary():
            self.plot_test_results(results, record, best)
        return results, record, compile_s

    def plot_test_results(self, results: dict[str, Any], record: dict[str, Any], best: Any) -> None:
        if self.num_members == 1:
            what = f"best epoch {record['best_epoch'][0]}"
        elif self.layout.is_sweep:
            what = f"best sweep point {results['best_sweep_point']}"
        else:
            what = "ensemble (mean probability)"
        title = f"{self.config.model} ({self.workdir.name}), {what}, test accuracy {results['test_accuracy']:.4f}"
        plots.plot_confusion_matrix(
            np.asarray(results["test_metrics"]["confusion_matrix"]),
            data.CLASS_NAMES,
            self.workdir / "confusion_matrix.png",
            title,
        )
        if self.config.feature_map_images:
            first_member = best if self.num_members == 1 else jax.tree_util.tree_map(lambda x: x[0], best)
            self.save_feature_maps(parallel.to_host(first_member))

    def save_feature_maps(self, variables: Any) -> None:
        """Activations of every conv and pool layer for the chosen test images, one PNG each."""
        for index in self.config.feature_map_images:
            image = self.splits.test_images[index]
            _, captured = self.model.apply(
                variables,
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


def results_on_test_set(
    layout: ensemble.MemberLayout, metrics: dict[str, np.ndarray], labels: np.ndarray, best_val_accuracy: list[float]
) -> tuple[dict[str, Any], np.ndarray]:
    """The test numbers of a run's members, and the logits its report (confusion matrix, ...) describes.

    One member: its loss and accuracy. An ensemble: each member's numbers, their mean / std / CI and
    the ensemble's (ensemble.member_test_results). A sweep: that for every point, the point with
    the best mean validation accuracy chosen, and its numbers at the top level.
    """
    loss, accuracy, logits = (np.atleast_1d(metrics[name]) for name in ("loss", "accuracy", "logits"))
    logits = logits.reshape(layout.num_members, len(labels), -1)

    def group(members: slice) -> tuple[dict[str, Any], np.ndarray]:
        if layout.num_seeds == 1:
            return {"test_loss": float(loss[members][0]), "test_accuracy": float(accuracy[members][0])}, logits[
                members
            ][0]
        numbers, mean_probability = ensemble.member_test_results(
            loss[members], accuracy[members], logits[members], labels
        )
        return numbers, np.log(np.maximum(mean_probability, 1e-30))

    if not layout.is_sweep:
        return group(slice(None))
    points = []
    for point in range(layout.num_points):
        members = layout.point_members(point)
        numbers, _ = group(members)
        val = np.asarray(best_val_accuracy)[members]
        points.append({**layout.point_hyperparams(point), "best_val_accuracy_mean": float(val.mean()), **numbers})
    best = ensemble.best_point(layout, best_val_accuracy)
    best_numbers, report_logits = group(layout.point_members(best))
    results = {
        **best_numbers,
        "best_sweep_point": best,
        "best_hyperparams": layout.point_hyperparams(best),
        "sweep_points": points,
        "test_loss_per_member": loss.tolist(),
        "test_accuracy_per_member": accuracy.tolist(),
    }
    return results, report_logits


def _fresh_record(config: Any, num_members: int) -> dict[str, Any]:
    """The run's progress, saved with every checkpoint; per-member lists have one entry per member."""
    return {
        "epoch": 0,
        "history": [],
        "best_val_accuracy": [-1.0] * num_members,
        "best_epoch": [0] * num_members,
        "epochs_without_improvement": [0] * num_members,
        "stopped_early": False,
        "compile_time_train_s": 0.0,
        "config": config.to_dict(),
    }


def _is_finished(record: dict[str, Any], config: Any) -> bool:
    return record["stopped_early"] or record["epoch"] >= config.num_epochs


def _epoch_entry(epoch: int, train_metrics: dict[str, Any], val_metrics: dict[str, Any], num_members: int) -> dict:
    """One history entry: means over members, plus each member's value when there are several."""
    values = {
        "train_loss": np.asarray(train_metrics["train_loss"]),
        "train_accuracy": np.asarray(train_metrics["train_accuracy"]),
        "val_loss": np.asarray(val_metrics["loss"]),
        "val_accuracy": np.asarray(val_metrics["accuracy"]),
    }
    if "loss_with_penalty" in val_metrics:  # a regularised model: the loss as Keras reports it, too
        values["train_loss_with_penalty"] = np.asarray(train_metrics["train_loss_with_penalty"])
        values["val_loss_with_penalty"] = np.asarray(val_metrics["loss_with_penalty"])
    entry: dict[str, Any] = {"epoch": epoch, **{name: float(value.mean()) for name, value in values.items()}}
    if num_members > 1:
        entry.update({f"{name}_per_member": value.tolist() for name, value in values.items()})
    return entry


def _update_best(record: dict[str, Any], val_accuracy: np.ndarray, epoch: int, config: Any) -> np.ndarray:
    """Per member: did validation accuracy improve? Updates best epoch, patience and early stop."""
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
    patience = config.early_stopping_patience
    record["stopped_early"] = bool(
        patience and min(record["epochs_without_improvement"]) >= patience and epoch < config.num_epochs
    )
    return improved


def _train(run: Run, state: train.TrainState, best: Any, record: dict[str, Any]) -> dict[str, Any]:
    """Trains from record['epoch'] to the end (or early stop), checkpointing every epoch.

    Early stopping and the best model are per member: a member past its patience keeps training
    in lockstep, but its best model is the one kept and evaluated; the run stops when every
    member has stopped.
    """
    config, splits = run.config, run.splits
    train_images, train_labels = run.put_split(splits.train_images, splits.train_labels)
    val_images, val_labels = run.put_split(splits.val_images, splits.val_labels)
    train_epoch, compile_train_s = timed_compile(
        ensemble.over_members(train.make_train_epoch(run.train_options), run.num_members),
        state,
        train_images,
        train_labels,
        donate=True,
    )
    evaluate, compile_eval_s = run.compile_evaluate(train.model_variables(state), val_images, val_labels)
    record["compile_time_train_s"] += compile_train_s + compile_eval_s
    logging.info("compiled the train epoch in %.1f s and evaluation in %.1f s", compile_train_s, compile_eval_s)
    relative_lr = optim.relative_schedule(config, run.steps_per_epoch)
    tensorboard = events.EpochEvents(run.workdir, config.tensorboard and parallel.is_primary())
    epochs = tqdm.trange(
        record["epoch"],
        config.num_epochs,
        initial=record["epoch"],
        total=config.num_epochs,
        desc=f"{config.model} epochs",
        unit="epoch",
        disable=None if parallel.is_primary() else True,
    )
    stop_request = _StopRequest()
    try:
        for epoch_index in epochs:
            start = time.perf_counter()
            state, train_metrics = train_epoch(state, train_images, train_labels)
            train_metrics = parallel.to_host(jax.block_until_ready(train_metrics))
            epoch_time_s = time.perf_counter() - start
            start = time.perf_counter()
            val_metrics = evaluate(train.model_variables(state), val_images, val_labels)
            val_metrics = parallel.to_host({name: value for name, value in val_metrics.items() if name != "logits"})
            val_time_s = time.perf_counter() - start

            epoch = epoch_index + 1
            entry = _epoch_entry(epoch, train_metrics, val_metrics, run.num_members)
            lr_fraction = float(relative_lr(epoch * run.steps_per_epoch - 1))
            if run.layout.is_sweep:
                entry["learning_rate_per_member"] = [lr * lr_fraction for lr in run.layout.learning_rates]
            else:
                entry["learning_rate"] = config.learning_rate * lr_fraction
            entry.update(epoch_time_s=epoch_time_s, val_time_s=val_time_s)
            _check_finite(train_metrics, epoch, run, record)
            record["history"].append(entry)
            record["epoch"] = epoch
            improved = _update_best(record, np.atleast_1d(val_metrics["accuracy"]), epoch, config)
            if improved.any():
                member_improved = jax.numpy.asarray(improved if run.num_members > 1 else improved[0])
                variables = train.model_variables(state)
                best = train.keep_improved(member_improved, variables, variables if best is None else best)
            run.checkpoints.save(epoch, state, best, record)
            tensorboard.write(entry)
            _log_epoch(entry, run)
            epochs.set_postfix(loss=f"{entry['train_loss']:.3f}", val_acc=f"{entry['val_accuracy']:.4f}")
            if record["stopped_early"]:
                logging.info("early stopping: no better val_accuracy for %d epochs", config.early_stopping_patience)
                break
            # Every process stops at the same epoch boundary when any of them was signalled (one
            # collective per epoch; nothing with one process), so no process waits for a partner.
            if parallel.any_process(bool(stop_request.signal_name)):
                run.checkpoints.wait()
                cause = stop_request.signal_name or "a signal to another process of this run"
                raise Interrupted(
                    f"stopped by {cause} after epoch {epoch} of {config.num_epochs}; its "
                    f"checkpoint is saved in {run.workdir}: run the same command again to resume."
                )
    finally:
        stop_request.restore()
        tensorboard.close()
        epochs.close()
    return record


def _log_epoch(entry: dict[str, Any], run: Run) -> None:
    config = run.config
    images_per_s = run.num_members * run.steps_per_epoch * config.batch_size / entry["epoch_time_s"]
    logging.info(
        "epoch %d/%d: train_loss %.4f train_accuracy %.4f val_loss %.4f val_accuracy %.4f%s (%.2f s, %.0f images/s)%s",
        entry["epoch"],
        config.num_epochs,
        entry["train_loss"],
        entry["train_accuracy"],
        entry["val_loss"],
        entry["val_accuracy"],
        f" lr {entry['learning_rate']:.3g}" if "learning_rate" in entry else "",
        entry["epoch_time_s"],
        images_per_s,
        f" [mean of {run.num_members} members]" if run.num_members > 1 else "",
    )


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
    where += f", member {member}" if run.num_members > 1 else ""
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
    images_per_s = run.num_members * num_steps * config.batch_size / train_time_s if train_time_s else 0.0
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
        # Images through the optimizer per second, all members together.
        "images_per_s": images_per_s,
        "device": environment.device_info(),
        "parallel": config.parallel,
        "versions": environment.versions(),
        "provenance": environment.provenance(),
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


def train_and_evaluate(config: Any, workdir: str) -> dict[str, Any]:
    """Trains (or resumes) the run in workdir, evaluates its best models on test, writes results.json.

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
        restored = run.checkpoints.restore_latest(run.state_template, run.best_template)
        if restored is None:
            state, best, record = run.initial_state, None, _fresh_record(config, run.num_members)
        else:
            state, best, record = restored
            _check_same_run(record["config"], config, run.workdir)
            _check_same_schedule(record["config"], config, run.workdir)
            logging.info("resuming %s from epoch %d", run.workdir, record["epoch"])
        if _is_finished(record, config) and results_path.exists():
            logging.info(
                "%s is finished (epoch %d); not retraining. Results: %s", run.workdir, record["epoch"], results_path
            )
            return json.loads(results_path.read_text())
        if not _is_finished(record, config):
            record = _train(run, state, best, record)
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
