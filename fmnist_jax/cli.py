"""What every command-line tool shares: one-line errors for bad input, quiet Orbax logs."""

from __future__ import annotations

import logging as std_logging
import os
import re
import sys
import traceback
from collections.abc import Callable
from typing import Any, NoReturn

from absl import app, flags, logging

from fmnist_jax.errors import UserError


def _wants_traceback(argv: list[str]) -> bool:
    for arg in argv:
        match = re.fullmatch(r"--verbosity=(-?\d+)|-v=?(-?\d+)", arg)
        if match and int(match.group(1) or match.group(2)) >= 1:
            return True
    return False


def fail(message: str) -> NoReturn:
    """Prints `error: message` as one line on stderr and exits with status 2."""
    logging.flush()
    print(f"error: {' '.join(message.split())}", file=sys.stderr)
    sys.exit(2)


def _config_file_arg(argv: list[str]) -> str:
    for arg in argv:
        if arg.startswith("--config="):
            return arg.split("=", 1)[1]
    return "(none)"


def _override_naming(argv: list[str], field: str) -> str:
    for arg in argv:
        name = arg.split("=", 1)[0]
        if name.startswith("--config.") and name.rsplit(".", 1)[-1] == field:
            return name[len("--config.") :]
    return field


def parse_flags(argv: list[str]) -> list[str]:
    """absl flags parser for app.run whose errors about --config are one line naming the fix."""
    config_file = _config_file_arg(argv)
    # config_flags defers a missing file's error to the first use of the config: check it here.
    if config_file != "(none)" and not os.path.isfile(config_file.split(":", 1)[0]):
        fail(f"config file {config_file} does not exist: pass --config=configs/<name>.py (see configs/README.md).")
    try:
        return flags.FLAGS(argv)
    except Exception as e:  # config_flags raises KeyError, OSError, SyntaxError, flags.Error, ...
        if _wants_traceback(argv):
            raise
        if isinstance(e, (KeyError, AttributeError)) and "get_config" not in str(e):
            text = str(e).replace("\\n", " ")
            quoted = re.search(r"'([^'\\]+)", text)
            field = _override_naming(argv, quoted.group(1) if quoted else text.strip("\"'"))
            suggestion = re.search(r'Did you mean "([^"]+)"', text)
            hint = f'did you mean "{suggestion.group(1)}"? ' if suggestion else "check its spelling; "
            fail(
                f"config field {field} does not exist (--config.{field}=... sets it): "
                f"{hint}every field is listed in fmnist_jax/config_base.py."
            )
        if isinstance(e, flags.Error):
            fail(f"{e}. Pass --helpshort to see the flags.")
        cause = str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__
        fail(
            f"config file {config_file} cannot be loaded ({type(e).__name__}: {cause}): "
            "it must define get_config() returning a ConfigDict; compare with configs/baseline.py."
        )


def exit_on_user_error(main: Callable[[list[str]], Any]) -> Callable[[list[str]], Any]:
    """Turns a UserError into one line on stderr and exit status 2; --verbosity=1 keeps the traceback."""

    def wrapped(argv: list[str]) -> Any:
        try:
            return main(argv)
        except UserError as e:
            if flags.FLAGS.verbosity >= 1:
                raise
            fail(str(e))

    return wrapped


def _verbose() -> bool:
    """--verbosity=1 or more: keep the stray Orbax logs and tracebacks that are dropped otherwise."""
    return flags.FLAGS.is_parsed() and flags.FLAGS.verbosity >= 1


class _DropOrbaxInfo(std_logging.Filter):
    """Orbax logs a dozen INFO lines per checkpoint: drop its chatter. A save failing in Orbax's
    background threads logs an ERROR with a traceback from each of them; the run reports that failure
    itself in one line (checkpoints.RunCheckpoints), so those go too, unless --verbosity=1."""

    def filter(self, record: std_logging.LogRecord) -> bool:
        if "/orbax/" not in record.pathname:
            return True
        if record.levelno >= std_logging.ERROR:
            return _verbose()
        return record.levelno >= std_logging.WARNING


class _DropUnretrievedOrbaxFailures(std_logging.Filter):
    """asyncio's "Future exception was never retrieved" for a write of a failed Orbax save.

    When a save fails (disk full), Orbax raises the first failed write's error, which the run reports in
    one line (checkpoints.RunCheckpoints); the futures of its other failed writes are never awaited, and
    asyncio logs each one when it is garbage-collected: a random number of them (CI saw five). Dropped
    (kept with --verbosity=1): an exception raised in Orbax's Python code, or one from TensorStore's
    C++ (no Python frame) naming the temporary directory of an unfinished Orbax save."""

    def filter(self, record: std_logging.LogRecord) -> bool:
        if "exception was never retrieved" not in str(record.msg) or not record.exc_info:
            return True
        _, error, error_traceback = record.exc_info
        raised_in_orbax = any("/orbax/" in frame.filename for frame in traceback.extract_tb(error_traceback))
        if not raised_in_orbax and ".orbax-checkpoint-tmp" not in str(error):
            return True
        return _verbose()


def _is_stale_loop_callback(unraisable: Any) -> bool:
    """A TensorStore write finishing after Orbax closed the event loop that awaited it.

    When one write of an asynchronous save fails (disk full), Orbax's background coroutine raises and
    its event loop is closed while the save's other writes are still in flight; each of those, on
    finishing, calls `loop.call_soon_threadsafe` on the closed loop, and TensorStore reports that
    RuntimeError as unraisable: a traceback per write, in a random number (CI saw a dozen). They say
    nothing the run's one-line error does not (checkpoints.RunCheckpoints reports the failed save)."""
    error = unraisable.exc_value
    if not isinstance(error, RuntimeError) or str(error) != "Event loop is closed":
        return False
    frames = [frame.name for frame in traceback.extract_tb(unraisable.exc_traceback)]
    return "call_soon_threadsafe" in frames


def _drop_stale_loop_callbacks(previous_hook: Callable[[Any], None]) -> Callable[[Any], None]:
    def hook(unraisable: Any) -> None:
        if _is_stale_loop_callback(unraisable) and not _verbose():
            return
        previous_hook(unraisable)

    return hook


def quiet_orbax() -> None:
    """Drops Orbax's INFO chatter and the stray tracebacks of a failed asynchronous save (both kept
    with --verbosity=1); every other warning, error, unraisable exception and unretrieved future
    still prints."""
    std_logging.getLogger("absl").addFilter(_DropOrbaxInfo())
    std_logging.getLogger("asyncio").addFilter(_DropUnretrievedOrbaxFailures())
    sys.unraisablehook = _drop_stale_loop_callbacks(sys.unraisablehook)


def begin(argv: list[str]) -> None:
    """What every training command does first: refuse stray arguments, log at INFO, quiet Orbax."""
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    logging.set_verbosity(logging.INFO)
    quiet_orbax()
