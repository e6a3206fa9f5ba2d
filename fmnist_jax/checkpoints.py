"""Orbax checkpoints of a run: one per epoch (the last `keep`), each complete on its own.

A checkpoint `DIR/checkpoints/<epoch>/` holds three items, written together and made visible
together (Orbax finalises a checkpoint directory atomically, only after every item is written):
- `state`: the whole TrainState (params, batch-norm statistics, optimizer state, step, rng);
- `best`: the best model so far by validation accuracy, per member (params and batch statistics);
- `record`: JSON of the run so far (epoch, history, early-stopping state, the config).
So a run killed at any moment, even in the middle of a save, resumes from a checkpoint whose best
model and record belong to the same epoch as its state. An unfinished save is never listed, and an
older checkpoint is only deleted once a newer one is finalised.

A checkpoint that cannot be read while an older one can is moved to `DIR/checkpoints_unreadable/`
(kept for inspection, never deleted): the run resumes from the older one and saves the epochs it
retrains again (Orbax saves no step that is not newer than the newest it lists).
"""

from __future__ import annotations

import pathlib
import time
from typing import Any

import jax
import orbax.checkpoint as ocp
from absl import logging

from fmnist_jax import parallel
from fmnist_jax.errors import CheckpointError


def abstract_like(tree: Any) -> Any:
    """The tree with every array replaced by its shape, dtype and sharding: a restore target."""
    return jax.tree_util.tree_map(ocp.tree.to_shape_dtype_struct, tree)


def _root_cause(error: BaseException) -> str:
    """The innermost cause in a few words, e.g. "[Errno 28] No space left on device", or for a
    TensorStore error its status and last clause ("RESOURCE_EXHAUSTED: ... No space left on device")."""
    while error.__cause__ is not None or error.__context__ is not None:
        error = error.__cause__ or error.__context__
    text = (str(error).strip().splitlines() or [type(error).__name__])[0]
    if len(text) <= 160:
        return text
    return f"{text.split(':', 1)[0]}: ... {text.rsplit(': ', 1)[-1][:120]}"


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return (text.splitlines()[0] if text else type(error).__name__)[:160]


class RunCheckpoints:
    """`DIR/checkpoints/<epoch>`: the last `keep` epochs, each with state, best model and record."""

    def __init__(self, workdir: str | pathlib.Path, keep: int):
        self.directory = pathlib.Path(workdir).absolute() / "checkpoints"
        self.unreadable_directory = self.directory.with_name("checkpoints_unreadable")
        self.manager = ocp.CheckpointManager(
            self.directory, options=ocp.CheckpointManagerOptions(max_to_keep=keep, create=True)
        )

    def save(self, epoch: int, state: Any, best: Any, record: dict[str, Any]) -> None:
        """Saves asynchronously; the previous save is finished first (Orbax waits for it).

        Raises CheckpointError if Orbax declines the save (a step not newer than one it lists):
        an epoch that is trained must be saved, or a later resume would train it again.
        """
        try:
            saved = self.manager.save(
                epoch,
                args=ocp.args.Composite(
                    state=ocp.args.StandardSave(state),
                    best=ocp.args.StandardSave(best),
                    record=ocp.args.JsonSave(record),
                ),
            )
        except Exception as e:  # noqa: BLE001 - the previous asynchronous save failed (disk full, I/O error)
            raise self._save_failed(e) from None
        if not saved:
            raise CheckpointError(
                f"the checkpoint of epoch {epoch} was not saved: {self.directory} already lists epoch "
                f"{self.manager.latest_step()}: move that checkpoint away, or use another --workdir."
            )

    def set_aside(self, epochs: list[int]) -> None:
        """Moves unreadable checkpoints to checkpoints_unreadable/ (kept, never deleted), so the epochs
        they held can be saved again; Orbax then lists only the good ones."""
        if not epochs:
            return
        if parallel.is_primary():
            self.unreadable_directory.mkdir(exist_ok=True)
            for epoch in epochs:
                target = self.unreadable_directory / str(epoch)
                if target.exists():
                    target = self.unreadable_directory / f"{epoch}.{time.strftime('%Y%m%dT%H%M%S')}"
                (self.directory / str(epoch)).rename(target)
                logging.warning("moved the unreadable checkpoint of epoch %d to %s", epoch, target)
        parallel.barrier("checkpoints set aside")  # every process lists the same steps afterwards
        self.manager.reload()

    def _restore_newest(
        self, items: dict[str, Any], what: str, set_aside_unreadable: bool = False
    ) -> tuple[int, dict[str, Any]] | None:
        """The items of the newest checkpoint that restores; a broken one is reported in one line and
        skipped. With set_aside_unreadable, the broken ones newer than the one restored are moved to
        checkpoints_unreadable/ (see set_aside); otherwise they stay where they are."""
        failures = []
        broken_epochs = []
        for epoch in sorted(self.manager.all_steps(), reverse=True):
            try:
                restored = dict(self.manager.restore(epoch, args=ocp.args.Composite(**items)))
            except Exception as e:  # Orbax raises many types for unreadable or mismatched trees.
                broken_epochs.append(epoch)
                failures.append(f"{self.directory}/{epoch} ({_first_line(e)})")
                logging.warning(
                    "checkpoint %s/%d cannot be restored (%s), trying an older one",
                    self.directory,
                    epoch,
                    _first_line(e),
                )
                continue
            if set_aside_unreadable:
                self.set_aside(broken_epochs)
            return epoch, restored
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
            set_aside_unreadable=True,
        )
        if restored is None:
            return None
        _, items = restored
        return items["state"], items["best"], dict(items["record"])

    def restore_newest_state(self, state_template: Any) -> tuple[Any, dict[str, Any]] | None:
        """(state, record) of the newest good checkpoint, read only (an unreadable one is skipped, never
        moved): another run's final model, e.g. the previous fold's with kfold_continue."""
        restored = self._restore_newest(
            {"state": ocp.args.StandardRestore(state_template), "record": ocp.args.JsonRestore()}, "a state"
        )
        if restored is None:
            return None
        _, items = restored
        return items["state"], dict(items["record"])

    def restore_best(self, best_template: Any, epoch: int | None = None) -> tuple[Any, dict[str, Any]] | None:
        """(best model, record) of the newest good checkpoint (what eval_only evaluates), or of `epoch`'s."""
        items = {"best": ocp.args.StandardRestore(best_template), "record": ocp.args.JsonRestore()}
        if epoch is not None:
            if epoch not in self.manager.all_steps():
                raise CheckpointError(
                    f"{self.directory} has no checkpoint of epoch {epoch} (it has {sorted(self.manager.all_steps())}): "
                    "the run was changed after its results.json was written; rerun it."
                )
            try:
                restored = self.manager.restore(epoch, args=ocp.args.Composite(**items))
            except Exception as e:  # noqa: BLE001 - Orbax raises many types for unreadable trees
                raise CheckpointError(
                    f"checkpoint {self.directory}/{epoch} cannot be restored: {_first_line(e)}"
                ) from None
            return restored["best"], dict(restored["record"])
        restored = self._restore_newest(items, "the best model")
        if restored is None:
            return None
        _, items = restored
        return items["best"], dict(items["record"])

    def _save_failed(self, error: Exception) -> CheckpointError:
        """One line for a save that failed in the background: what happened, what is kept, what to do."""
        steps = sorted(self.manager.all_steps())
        kept = f"the checkpoint of epoch {steps[-1]} is kept" if steps else "no checkpoint was finished"
        return CheckpointError(
            f"saving a checkpoint in {self.directory} failed ({_root_cause(error)}); {kept}: free space or fix the "
            "directory, then run the same command again to resume."
        )

    def wait(self) -> None:
        """Blocks until a pending asynchronous save is finalised; a failed one raises CheckpointError."""
        try:
            self.manager.wait_until_finished()
        except Exception as e:  # noqa: BLE001 - Orbax re-raises the background thread's error here
            raise self._save_failed(e) from None

    def close(self) -> None:
        """Waits for a pending save, then releases the manager (and its threads) even if that save failed."""
        try:
            self.wait()
        finally:
            try:
                self.manager.close()
            except Exception:  # noqa: BLE001 - the failed save was reported by wait()
                pass
