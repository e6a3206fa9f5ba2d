"""Errors a user can fix. The command-line tools print their message as one line, no traceback."""


class UserError(Exception):
    """Bad input: the message names the field or file and says how to fix it."""


class ConfigError(UserError):
    """A config field holds a value the engine cannot use."""


class DataError(UserError):
    """A dataset file is missing, truncated or corrupted."""


class CheckpointError(UserError):
    """A checkpoint cannot be read or belongs to another model or config."""
