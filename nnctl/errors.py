"""The one family of exceptions the library raises; the CLI maps each to a message and exit code."""


class NnctlError(Exception):
    """Base class: bad input or a failed operation that the user can act on. Exit status 2."""

    exit_code = 2


class ConfigError(NnctlError):
    """A config file or override is invalid."""


class DataError(NnctlError):
    """A dataset file is missing, unreadable or inconsistent."""


class RunError(NnctlError):
    """A run directory cannot be created, found, read or written."""


class TrainingFailed(NnctlError):
    """Training ran but its answer is 'failed' (e.g. the cost diverged). Exit status 1."""

    exit_code = 1


class UsageError(NnctlError):
    """A command-line option has an invalid value (e.g. an unknown column to sort by)."""
