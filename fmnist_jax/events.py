"""TensorBoard event files of a run: every epoch's metrics, as `tensorboard --logdir=WORKDIR` shows them.

Written with tensorboardX (no TensorFlow needed) to `workdir/tensorboard/`. Tags are
`train/loss`, `train/accuracy`, `val/loss`, `val/accuracy`, `learning_rate`, `time/epoch_s`; with
several members those are the members' means, and `<tag>/member_MM` holds each member's own value.
The step of every point is the epoch (1-based). A resumed run appends a new event file.
"""

from __future__ import annotations

import pathlib
from typing import Any

EVENTS_DIR = "tensorboard"
# history entry field -> TensorBoard tag
TAGS = {
    "train_loss": "train/loss",
    "train_accuracy": "train/accuracy",
    "val_loss": "val/loss",
    "val_accuracy": "val/accuracy",
    "learning_rate": "learning_rate",
    "epoch_time_s": "time/epoch_s",
}


class EpochEvents:
    """Writes one history entry per epoch; does nothing when disabled (or on a non-primary process)."""

    def __init__(self, workdir: pathlib.Path, enabled: bool):
        self._writer = None
        if enabled:
            # Imported here: tensorboardX imports PyTorch where it is installed (1.4 s here), which a
            # command that stops at a bad flag, or writes no events, should not wait for.
            from tensorboardX import SummaryWriter  # noqa: PLC0415

            self._writer = SummaryWriter(logdir=str(workdir / EVENTS_DIR))

    def write(self, entry: dict[str, Any]) -> None:
        if self._writer is None:
            return
        epoch = entry["epoch"]
        for field, tag in TAGS.items():
            if field in entry:
                self._writer.add_scalar(tag, entry[field], epoch)
            for member, value in enumerate(entry.get(f"{field}_per_member", ())):
                if value is not None:  # None: that member stopped early and did not train this epoch
                    self._writer.add_scalar(f"{tag}/member_{member:02d}", value, epoch)
        self._writer.flush()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
