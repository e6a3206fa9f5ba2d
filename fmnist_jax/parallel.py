"""Devices and hosts: one device (the default), data parallelism, members split over devices.

`config.parallel` chooses how a run uses the devices JAX sees (all hosts' devices together once
`jax.distributed` is initialised):
- none: everything on the default device;
- data: a Mesh with a `data` axis over all devices; the train state and the dataset are replicated
  on every device, each global batch is split over the devices (a sharding constraint inside the
  one-program epoch), and the compiler reduces the gradients and the batch-norm statistics across
  them. Same global batch, same results as one device (to float reassociation);
- members: a Mesh with a `members` axis; each device trains its share of the ensemble / sweep members.
The dataset (47 MB) is replicated on every device rather than partitioned: every device then
gathers its part of each shuffled global batch from its own copy, with no cross-host data traffic.
Each process of a multi-host run builds the same initial state from the same seeds, so placing
an array means each process putting its own copy's slices on its own devices.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import jax
import numpy as np
from absl import logging
from jax.experimental import multihost_utils
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from fmnist_jax.errors import ConfigError, UserError

MODES = ("none", "data", "members")


@dataclasses.dataclass(frozen=True)
class Placement:
    """Where a run's arrays live: mode, and the mesh over all devices (None for mode 'none')."""

    mode: str
    mesh: Mesh | None = None

    @property
    def num_devices(self) -> int:
        return 1 if self.mesh is None else self.mesh.size

    @property
    def batch_sharding(self) -> NamedSharding | None:
        """How each training / evaluation batch is split: over the data axis in data mode."""
        return NamedSharding(self.mesh, PartitionSpec("data")) if self.mode == "data" else None

    def _sharding(self, member_axis: bool) -> NamedSharding:
        spec = PartitionSpec("members") if member_axis and self.mode == "members" else PartitionSpec()
        return NamedSharding(self.mesh, spec)

    def put(self, tree: Any, *, member_axis: bool = False) -> Any:
        """Places every array of tree: replicated, or split along its leading members axis."""
        if self.mesh is None:
            # Committed to the device, as a checkpoint restores them: so a fresh and a resumed run lower to
            # the same program (uncommitted arguments drop the sharding annotation, a miss in the
            # compilation cache for the same computation).
            return jax.device_put(tree, jax.local_devices()[0])
        sharding = self._sharding(member_axis)

        def place(leaf: Any) -> jax.Array:
            host = np.asarray(leaf)
            return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])

        return jax.tree_util.tree_map(place, tree)


def make_placement(mode: str, *, num_members: int, batch_size: int, eval_batch_size: int) -> Placement:
    """The placement for config.parallel; one-line errors when the devices do not divide the work."""
    if mode not in MODES:
        raise ConfigError(f"config field parallel={mode!r} is unknown: use one of {', '.join(MODES)}.")
    if mode == "none":
        return Placement(mode)
    devices = np.asarray(jax.devices())
    if mode == "data":
        for field, size in (("batch_size", batch_size), ("eval_batch_size", eval_batch_size)):
            if size % devices.size:
                raise ConfigError(
                    f"config field {field}={size} does not split over {devices.size} devices (parallel=data): "
                    f"use a multiple of {devices.size}."
                )
        return Placement(mode, Mesh(devices, ("data",)))
    if num_members % devices.size:
        raise ConfigError(
            f"config field num_seeds gives {num_members} members, which do not split over {devices.size} devices "
            f"(parallel=members): use a multiple of {devices.size} members."
        )
    return Placement(mode, Mesh(devices, ("members",)))


def to_host(tree: Any) -> Any:
    """Every array of tree as a numpy array on this host, gathered from all processes if needed."""

    def fetch(leaf: Any) -> np.ndarray:
        if isinstance(leaf, jax.Array) and not leaf.is_fully_addressable:
            return np.asarray(multihost_utils.process_allgather(leaf, tiled=True))
        return np.asarray(leaf)

    return jax.tree_util.tree_map(fetch, tree)


def is_primary() -> bool:
    """Whether this process writes the run's files (results, plots, TensorBoard): process 0."""
    return jax.process_index() == 0


def barrier(name: str) -> None:
    """Every process waits here until all have arrived (nothing to wait for with one process)."""
    if jax.process_count() > 1:
        multihost_utils.sync_global_devices(name)


def any_process(flag: bool) -> bool:
    """True on every process if it is True on any: one decision all processes act on together."""
    if jax.process_count() == 1:
        return flag
    return bool(np.asarray(multihost_utils.process_allgather(np.array([flag]), tiled=True)).any())


def initialize_distributed(coordinator_address: str, num_processes: int, process_id: int) -> None:
    """Joins a multi-process run (before any other JAX call). With no coordinator address, JAX
    detects the cluster (SLURM, Open MPI, TPU pods, ...) itself."""
    try:
        if coordinator_address:
            jax.distributed.initialize(coordinator_address, num_processes, process_id)
        else:
            jax.distributed.initialize()
    except (RuntimeError, ValueError) as e:
        first_line = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise UserError(
            f"jax.distributed could not start ({first_line}): check --coordinator_address, --num_processes and "
            "--process_id (or JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES, JAX_PROCESS_ID)."
        ) from None
    logging.info(
        "process %d of %d; %d devices in all, %d here",
        jax.process_index(),
        jax.process_count(),
        jax.device_count(),
        jax.local_device_count(),
    )


def distributed_settings_from_env() -> tuple[str, int | None, int | None]:
    """(coordinator address, process count, process id) from JAX_COORDINATOR_ADDRESS,
    JAX_NUM_PROCESSES and JAX_PROCESS_ID; empty / None where unset."""
    count, index = os.environ.get("JAX_NUM_PROCESSES"), os.environ.get("JAX_PROCESS_ID")
    return (
        os.environ.get("JAX_COORDINATOR_ADDRESS", ""),
        int(count) if count else None,
        int(index) if index else None,
    )
