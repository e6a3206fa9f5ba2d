"""Orbax checkpoints of a run: the latest epochs (for resume) and the best by validation accuracy.

Each checkpoint holds the whole TrainState and a JSON record of the run so far (epoch, history,
early-stopping state, the config), written atomically by Orbax: a directory only becomes a
checkpoint once finalised, so a killed save never replaces a good one.
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


class RunCheckpoints:
    """`DIR/checkpoints/latest` (the last `keep` epochs) and `DIR/checkpoints/best` (one)."""

    def __init__(self, workdir: str | pathlib.Path, keep: int):
        root = pathlib.Path(workdir).absolute() / "checkpoints"
        self.latest = ocp.CheckpointManager(
            root / "latest", options=ocp.CheckpointManagerOptions(max_to_keep=keep, create=True)
        )
        self.best = ocp.CheckpointManager(
            root / "best", options=ocp.CheckpointManagerOptions(max_to_keep=1, create=True)
        )

    @staticmethod
    def _save(manager: ocp.CheckpointManager, epoch: int, state: Any, record: dict[str, Any]) -> None:
        manager.save(
            epoch, args=ocp.args.Composite(state=ocp.args.StandardSave(state), record=ocp.args.JsonSave(record))
        )

    def save(self, epoch: int, state: Any, record: dict[str, Any], *, best_state: Any = None) -> None:
        """Saves the latest state, and best_state (per member, the best so far) when it changed."""
        self._save(self.latest, epoch, state, record)
        if best_state is not None:
            self._save(self.best, epoch, best_state, record)

    @staticmethod
    def _restore(manager: ocp.CheckpointManager, template: Any, what: str) -> tuple[Any, dict[str, Any]] | None:
        """The newest checkpoint that restores; a broken one is reported in one line and skipped.

        Nothing is deleted: a partial or garbled newest checkpoint stays on disk for inspection.
        """
        failures = []
        for epoch in sorted(manager.all_steps(), reverse=True):
            try:
                restored = manager.restore(
                    epoch,
                    args=ocp.args.Composite(state=ocp.args.StandardRestore(template), record=ocp.args.JsonRestore()),
                )
            except Exception as e:  # Orbax raises many types for unreadable or mismatched trees.
                first_line = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                failures.append(f"{manager.directory}/{epoch} ({first_line[:160]})")
                logging.warning(
                    "%s checkpoint %s/%d cannot be restored, trying an older one: %s",
                    what,
                    manager.directory,
                    epoch,
                    first_line[:160],
                )
                continue
            return restored["state"], dict(restored["record"])
        if failures:
            raise CheckpointError(
                f"no {what} checkpoint restores for this config: {failures[0]}: use another --workdir, or the "
                "config that wrote it."
            )
        return None

    def latest_record(self) -> dict[str, Any] | None:
        """The JSON record of the newest readable latest checkpoint, without touching its arrays."""
        for epoch in sorted(self.latest.all_steps(), reverse=True):
            try:
                return dict(
                    self.latest.restore(epoch, args=ocp.args.Composite(record=ocp.args.JsonRestore()))["record"]
                )
            except Exception:  # noqa: BLE001 - an unreadable record: the state restore reports it
                continue
        return None

    def restore_latest(self, template: Any) -> tuple[Any, dict[str, Any]] | None:
        return self._restore(self.latest, template, "latest")

    def restore_best(self, template: Any) -> tuple[Any, dict[str, Any]] | None:
        return self._restore(self.best, template, "best")

    def wait(self) -> None:
        """Blocks until pending asynchronous saves are finalised."""
        for manager in (self.latest, self.best):
            manager.wait_until_finished()

    def close(self) -> None:
        """Waits for pending saves, then releases the managers."""
        self.wait()
        for manager in (self.latest, self.best):
            manager.close()
