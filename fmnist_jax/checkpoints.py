"""Orbax checkpoints of a run: one per epoch (the last `keep`), each complete on its own.

A checkpoint `DIR/checkpoints/<epoch>/` holds three items, written together and made visible
together (Orbax finalises a checkpoint directory atomically, only after every item is written):
- `state`: the whole TrainState (params, batch-norm statistics, optimizer state, step, rng);
- `best`: the best model so far by validation accuracy, per member (params and batch statistics);
- `record`: JSON of the run so far (epoch, history, early-stopping state, the config).
So a run killed at any moment, even in the middle of a save, resumes from a checkpoint whose best
model and record belong to the same epoch as its state. An unfinished save is never listed, and an
older checkpoint is only deleted once a newer one is finalised.
"""

from __future__ import annotations

import pathlib
from typing import Any

import jax
import orbax.checkpoint as ocp
from absl import logging

from fmnist_jax.errors import CheckpointError


def abstract_like(tree: Any) -> Any:
    """The tree with every array replaced by its shape, dtype and sharding: a restore target."""
    return jax.tree_util.tree_map(ocp.utils.to_shape_dtype_struct, tree)


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return (text.splitlines()[0] if text else type(error).__name__)[:160]


class RunCheckpoints:
    """`DIR/checkpoints/<epoch>`: the last `keep` epochs, each with state, best model and record."""

    def __init__(self, workdir: str | pathlib.Path, keep: int):
        self.directory = pathlib.Path(workdir).absolute() / "checkpoints"
        self.manager = ocp.CheckpointManager(
            self.directory, options=ocp.CheckpointManagerOptions(max_to_keep=keep, create=True)
        )

    def save(self, epoch: int, state: Any, best: Any, record: dict[str, Any]) -> None:
        """Saves asynchronously; the previous save is finished first (Orbax waits for it)."""
        self.manager.save(
            epoch,
            args=ocp.args.Composite(
                state=ocp.args.StandardSave(state), best=ocp.args.StandardSave(best), record=ocp.args.JsonSave(record)
            ),
        )

    def _restore_newest(self, items: dict[str, Any], what: str) -> tuple[int, dict[str, Any]] | None:
        """The items of the newest checkpoint that restores; a broken one is reported in one line and
        skipped, and left on disk for inspection."""
        failures = []
        for epoch in sorted(self.manager.all_steps(), reverse=True):
            try:
                return epoch, dict(self.manager.restore(epoch, args=ocp.args.Composite(**items)))
            except Exception as e:  # Orbax raises many types for unreadable or mismatched trees.
                failures.append(f"{self.directory}/{epoch} ({_first_line(e)})")
                logging.warning(
                    "checkpoint %s/%d cannot be restored (%s), trying an older one",
                    self.directory,
                    epoch,
                    _first_line(e),
                )
        if failures:
            raise CheckpointError(
                f"no checkpoint in {self.directory} restores {what}: {failures[0]}: use another --workdir, or "
                "the config that wrote it."
            )
        return None

    def latest_record(self) -> dict[str, Any] | None:
        """The JSON record of the newest readable checkpoint, without touching its arrays."""
        for epoch in sorted(self.manager.all_steps(), reverse=True):
            try:
                return dict(
                    self.manager.restore(epoch, args=ocp.args.Composite(record=ocp.args.JsonRestore()))["record"]
                )
            except Exception:  # noqa: BLE001 - an unreadable record: the state restore reports it
                continue
        return None

    def restore_latest(self, state_template: Any, best_template: Any) -> tuple[Any, Any, dict[str, Any]] | None:
        """(state, best model, record) of the newest good checkpoint, or None before the first one."""
        restored = self._restore_newest(
            {
                "state": ocp.args.StandardRestore(state_template),
                "best": ocp.args.StandardRestore(best_template),
                "record": ocp.args.JsonRestore(),
            },
            "this run's state",
        )
        if restored is None:
            return None
        _, items = restored
        return items["state"], items["best"], dict(items["record"])

    def restore_best(self, best_template: Any) -> tuple[Any, dict[str, Any]] | None:
        """(best model, record) of the newest good checkpoint: what eval_only evaluates."""
        restored = self._restore_newest(
            {"best": ocp.args.StandardRestore(best_template), "record": ocp.args.JsonRestore()}, "the best model"
        )
        if restored is None:
            return None
        _, items = restored
        return items["best"], dict(items["record"])

    def wait(self) -> None:
        """Blocks until a pending asynchronous save is finalised."""
        self.manager.wait_until_finished()

    def close(self) -> None:
        """Waits for a pending save, then releases the manager."""
        self.manager.wait_until_finished()
        self.manager.close()
