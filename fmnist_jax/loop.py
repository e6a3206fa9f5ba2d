"""The epoch loop: train every member one epoch at a time, validate, keep each member's best model,
checkpoint every epoch, stop early, on a NaN, or on SIGTERM / SIGINT (at an epoch boundary, on every
process at once); and the checks that a resumed run is the run that was started.
"""

from __future__ import annotations

import contextlib
import json
import pathlib
import signal
import threading
import time
from typing import Any

import jax
import numpy as np
import tqdm
from absl import logging

from fmnist_jax import ensemble, environment, events, metrics, parallel, train
from fmnist_jax.config_base import config_from_record
from fmnist_jax.errors import CheckpointError, UserError
from fmnist_jax.run import Run, timed_compile

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
        "members_program",
        "interleaved_members",
        "feature_map_images",
        "reference",
        "parallel",
        "tensorboard",
        "test_time_flip",
        "trace_dir",
    }
)


def _as_saved(config: Any) -> dict[str, Any]:
    return json.loads(json.dumps(config.to_dict()))  # as a checkpoint saves it: tuples become lists


def check_same_run(saved_config: dict[str, Any], config: Any, workdir: pathlib.Path) -> None:
    current = _as_saved(config)
    # A field added since that run was saved takes its default there (the run was made without it).
    saved_config = _as_saved(config_from_record(saved_config))
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


def check_same_schedule(saved_config: dict[str, Any], config: Any, workdir: pathlib.Path) -> None:
    if config.schedule in LENGTH_DEPENDENT_SCHEDULES and saved_config["num_epochs"] != config.num_epochs:
        raise CheckpointError(
            f"workdir {workdir} holds a run with num_epochs={saved_config['num_epochs']} on a {config.schedule} "
            f"schedule, which depends on it; this config has num_epochs={config.num_epochs}: resume with "
            f"--config.num_epochs={saved_config['num_epochs']}, or use another --workdir."
        )


def fresh_record(config: Any, num_members: int) -> dict[str, Any]:
    """The run's progress, saved with every checkpoint; per-member lists have one entry per member."""
    return {
        "epoch": 0,
        "history": [],
        "best_val_accuracy": [-1.0] * num_members,  # of the model kept: its epoch's val accuracy and loss
        "best_val_loss": [None] * num_members,
        "best_epoch": [0] * num_members,
        "epochs_without_improvement": [0] * num_members,
        "stopped_early": False,
        "compile_time_train_s": 0.0,
        "config": config.to_dict(),
    }


def training_segment(first_epoch: int) -> dict[str, Any]:
    """Who trains the epochs from first_epoch on in this process: a run resumed in another session can
    be trained by other code or on another machine, and its results.json must say so (`trained_by`)."""
    made = environment.provenance()
    return {
        "epochs": [first_epoch, first_epoch],  # the first and the last epoch it trained
        "git_commit": made["git_commit"],
        "git_dirty": made["git_dirty"],
        "hostname": made["machine"]["hostname"],
        "jax": jax.__version__,
    }


def is_finished(record: dict[str, Any], config: Any) -> bool:
    return record["stopped_early"] or record["epoch"] >= config.num_epochs


def members_training(record: dict[str, Any], config: Any, num_members: int) -> np.ndarray:
    """Per member: does it train this epoch? Not once its early stopping has stopped it (patience spent)."""
    if not config.early_stopping_patience:
        return np.ones(num_members, bool)
    return np.asarray(record["epochs_without_improvement"]) < config.early_stopping_patience


def _epoch_entry(
    epoch: int, train_metrics: dict[str, Any], val_metrics: dict[str, Any], num_members: int, trained: np.ndarray
) -> dict:
    """One history entry: means over members, plus each member's value when there are several. A member
    that did not train this epoch (stopped early) has no train metrics (None) and is left out of their
    mean; its validation metrics are those of its unchanged state (its last trained epoch's)."""
    values = {
        "train_loss": np.asarray(train_metrics["train_loss"]),
        "train_accuracy": np.asarray(train_metrics["train_accuracy"]),
        "val_loss": np.asarray(val_metrics["loss"]),
        "val_accuracy": np.asarray(val_metrics["accuracy"]),
    }
    if "loss_with_penalty" in val_metrics:  # a regularised model: the loss as Keras reports it, too
        values["train_loss_with_penalty"] = np.asarray(train_metrics["train_loss_with_penalty"])
        values["val_loss_with_penalty"] = np.asarray(val_metrics["loss_with_penalty"])
    counted = {name: trained if name.startswith("train_") else np.ones_like(trained) for name in values}
    entry: dict[str, Any] = {"epoch": epoch}
    entry.update({name: float(np.atleast_1d(value)[counted[name]].mean()) for name, value in values.items()})
    if num_members > 1:
        for name, value in values.items():
            entry[f"{name}_per_member"] = [v if c else None for v, c in zip(value.tolist(), counted[name], strict=True)]
        entry["members_trained"] = int(trained.sum())
    return entry


def _unevaluated_from_last_epoch(
    val_metrics: dict[str, Any], evaluated: np.ndarray, history: list[dict[str, Any]]
) -> dict[str, Any]:
    """Per member: the metrics evaluated now, or for a member left out (stopped early, so its state is
    unchanged since the epoch it last trained) the last epoch's: the same numbers, not computed again."""
    if evaluated.all():
        return val_metrics
    last_epoch = history[-1]
    filled = {}
    for name, values in val_metrics.items():
        values = np.array(values, copy=True)
        values[~evaluated] = np.asarray(last_epoch[f"val_{name}_per_member"], values.dtype)[~evaluated]
        filled[name] = values
    return filled


def _update_best(record: dict[str, Any], val_metrics: dict[str, Any], epoch: int, config: Any) -> np.ndarray:
    """Per member: did the monitored value improve? Updates best epoch, patience and early stop."""
    val_accuracy = np.atleast_1d(val_metrics["accuracy"])
    val_loss = np.atleast_1d(val_metrics["loss"])
    # Records saved before best_val_loss existed: every member's loss still to beat.
    best_loss = record.setdefault("best_val_loss", [None] * len(val_accuracy))
    if config.fold_val_into_train:  # validation folded into training selects nothing: the last epoch is "best"
        improved = np.ones_like(val_accuracy, bool)
    elif config.early_stopping_monitor == "val_loss":  # as Keras' EarlyStopping(monitor="val_loss")
        improved = np.array([old is None or new < old for new, old in zip(val_loss, best_loss, strict=True)])
    else:
        improved = val_accuracy > np.asarray(record["best_val_accuracy"])
    patience = config.early_stopping_patience
    if patience:
        # A member whose patience ran out has stopped, as its own run would have: it trains on in
        # lockstep with the others, but nothing it learns later may replace its kept model.
        improved &= np.asarray(record["epochs_without_improvement"]) < patience
    for member in np.flatnonzero(improved):
        record["best_val_accuracy"][member] = float(val_accuracy[member])
        best_loss[member] = float(val_loss[member])
        record["best_epoch"][member] = epoch
    record["epochs_without_improvement"] = [
        0 if better else waited + 1
        for better, waited in zip(improved, record["epochs_without_improvement"], strict=True)
    ]
    record["stopped_early"] = bool(
        patience and min(record["epochs_without_improvement"]) >= patience and epoch < config.num_epochs
    )
    return improved


def train_epochs(run: Run, state: train.TrainState, best: Any, record: dict[str, Any]) -> dict[str, Any]:
    """Trains from record['epoch'] to the end (or early stop), checkpointing every epoch.

    Early stopping and the best model are per member: the model kept and evaluated is each member's
    best up to its own stop (what its separate run would have kept); the run stops when every member
    has stopped. A stopped member trains no more where the members program allows it (`map` skips
    it, which saves its share of each epoch); `vmap` trains it on in lockstep, and nothing it learns
    later may replace its kept model.
    """
    config, splits = run.config, run.splits
    train_images, train_labels = run.put_split(splits.train_images, splits.train_labels)
    val_images, val_labels = run.put_split(splits.val_images, splits.val_labels)
    train_epoch, compile_train_s = timed_compile(
        ensemble.train_epoch_over_members(
            run.train_options, run.num_members, run.members_program, config.interleaved_members
        ),
        state,
        train_images,
        train_labels,
        np.ones(run.num_members, bool),
        donate=True,
    )
    evaluate, compile_eval_s = run.compile_evaluate(
        train.model_variables(state), val_images, val_labels, per_member_mask=True
    )
    record["compile_time_train_s"] += compile_train_s + compile_eval_s
    logging.info("compiled the train epoch in %.1f s and evaluation in %.1f s", compile_train_s, compile_eval_s)
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
    first_epoch = record["epoch"]
    try:
        for epoch_index in epochs:
            # config.trace_dir: the first epoch this process trains runs under the jax profiler (its
            # time includes the profiler's overhead; the epochs after it are clean).
            tracing = config.trace_dir and epoch_index == first_epoch
            with jax.profiler.trace(config.trace_dir) if tracing else contextlib.nullcontext():
                training = members_training(record, config, run.num_members)
                if not ensemble.skips_stopped_members(run.num_members, run.members_program):
                    training = np.ones_like(training)  # vmap: every member trains (in lockstep)
                start = time.perf_counter()
                state, train_metrics = train_epoch(state, train_images, train_labels, training)
                train_metrics = parallel.to_host(jax.block_until_ready(train_metrics))
                epoch_time_s = time.perf_counter() - start
            start = time.perf_counter()
            # A member that did not train this epoch is not evaluated either: its metrics are its last epoch's.
            val_metrics = evaluate(train.model_variables(state), val_images, val_labels, training)
            val_metrics = parallel.to_host({name: value for name, value in val_metrics.items() if name != "logits"})
            val_metrics = _unevaluated_from_last_epoch(val_metrics, training, record["history"])
            val_time_s = time.perf_counter() - start

            epoch = epoch_index + 1
            entry = _epoch_entry(epoch, train_metrics, val_metrics, run.num_members, training)
            lr_fraction = float(run.relative_lr(epoch * run.steps_per_epoch - 1))  # the optimizer's own
            if run.layout.is_sweep:
                entry["learning_rate_per_member"] = [lr * lr_fraction for lr in run.layout.learning_rates]
            else:
                entry["learning_rate"] = config.learning_rate * lr_fraction
            entry.update(epoch_time_s=epoch_time_s, val_time_s=val_time_s)
            _check_finite(train_metrics, epoch, run, record)
            record["history"].append(entry)
            record["epoch"] = epoch
            if epoch_index == first_epoch:  # saved with this epoch's checkpoint, never as an empty segment
                record.setdefault("segments", []).append(training_segment(epoch))
            else:
                record["segments"][-1]["epochs"][1] = epoch
            improved = _update_best(record, val_metrics, epoch, config)
            if improved.any():
                member_improved = jax.numpy.asarray(improved if run.num_members > 1 else improved[0])
                variables = train.model_variables(state)
                best = train.keep_improved(member_improved, variables, variables if best is None else best)
            run.checkpoints.save(epoch, state, best, record)
            tensorboard.write(entry)
            _log_epoch(entry, run)
            epochs.set_postfix(loss=f"{entry['train_loss']:.3f}", val_acc=f"{entry['val_accuracy']:.4f}")
            if record["stopped_early"]:
                logging.info(
                    "early stopping: no better %s for %d epochs",
                    config.early_stopping_monitor,
                    config.early_stopping_patience,
                )
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
    members_trained = metrics.members_trained(entry, run.num_members)
    images_per_s = members_trained * run.steps_per_epoch * config.batch_size / entry["epoch_time_s"]
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
        _members_text(run.num_members, members_trained),
    )


def _members_text(num_members: int, members_trained: int) -> str:
    if num_members == 1:
        return ""
    if members_trained == num_members:
        return f" [mean of {num_members} members]"
    return f" [{members_trained} of {num_members} members trained; val: mean of all]"


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
